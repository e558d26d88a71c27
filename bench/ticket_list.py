"""Benchmark: the dashboard ticket list's response time with 100,000 tickets, and a search;
the severity-1 report; and one ticket's page with 20 calls and 200 timeline events.

Run: .venv/bin/python bench/ticket_list.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/dash_bench]
The database is migrated and filled to --tickets rows on first use (kept for later runs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/dash_bench"
WORDS = [
    "outage",
    "router",
    "firewall",
    "login",
    "slow",
    "latency",
    "printer",
    "database",
    "backup",
    "vpn",
    "dns",
    "cert",
]
BUDGET_MS = 200.0
TICKET_PAGE_BUDGET_MS = 100.0
BUSY_SUBJECT = "Bench: a ticket with 20 calls"


def seed(session_factory: Any, target: int) -> None:
    """Top the database up to `target` tickets of varied content."""
    from models import Account, Product, Ticket, TicketOutcome, TicketStatus

    with session_factory() as session:
        have = session.scalar(select(func.count()).select_from(Ticket)) or 0
        if have >= target:
            return
        if session.scalar(select(func.count()).select_from(Account)) == 0:
            session.execute(
                insert(Account),
                [{"name": f"Account {i:03d}", "created_at": datetime.now(UTC)} for i in range(300)],
            )
            session.execute(
                insert(Product), [{"code": f"p{i}", "name": f"Product {i}"} for i in range(12)]
            )
        accounts = session.scalars(select(Account.id)).all()
        products = session.scalars(select(Product.id)).all()
        rng = random.Random(42)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        batch: list[dict[str, Any]] = []
        for i in range(have, target):
            words = rng.sample(WORDS, 3)
            created = start + timedelta(minutes=5 * i)
            batch.append(
                {
                    "account_id": rng.choice(accounts),
                    "product_id": rng.choice(products),
                    "contact_name": f"Contact {i}",
                    "contact_phone": f"+1555{rng.randrange(10**7):07d}",
                    "severity": rng.choice([1, 1, 2, 3, 4]),
                    "category": rng.choice(["phone", "phone", "email", "portal"]),
                    "subject": f"{words[0].capitalize()} {words[1]} issue #{i}",
                    "description": f"Voicemail transcription: the {words[2]} is failing since "
                    f"this morning, ticket reference {i}.",
                    "status": rng.choice(list(TicketStatus)),
                    "outcome": rng.choice(list(TicketOutcome)),
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Ticket), batch)
                batch = []
        if batch:
            session.execute(insert(Ticket), batch)
        session.commit()
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()


def seed_busy_ticket(session_factory: Any, calls: int = 20, events_per_call: int = 10) -> int:
    """One ticket with `calls` calls of `events_per_call` events each (ringing rounds, an
    answer, the end), made once; returns its id."""
    from models import Call, Ticket
    from tickets import events
    from tickets.calls import record_event

    with session_factory() as session:
        found = session.scalar(select(Ticket.id).where(Ticket.subject == BUSY_SUBJECT))
        if found is not None:
            return int(found)
        start = datetime(2026, 6, 1, 9, tzinfo=UTC)
        ticket = Ticket(subject=BUSY_SUBJECT, severity=1, category="phone", created_at=start)
        session.add(ticket)
        session.flush()
        for n in range(calls):
            at = start + timedelta(hours=n)
            call = Call(
                call_sid=f"CAbench{n:032d}",
                ticket_id=ticket.id,
                from_number="+15551230000",
                to_number="+15005550006",
                started_at=at,
            )
            session.add(call)
            session.flush()

            def tick(seconds: int, base: datetime = at) -> datetime:
                return base + timedelta(seconds=seconds)

            record_event(session, call, events.CallStarted(caller="+15551230000"), tick(0))
            record_event(session, call, events.PinOk(account="Bench", pin_kind="standing"), tick(9))
            record_event(session, call, events.Severity(severity=1), tick(15))
            record_event(session, call, events.RingingStarted(engineers=2), tick(16))
            for step in range(4):
                who = ("eng-a", "Ann") if step % 2 == 0 else ("eng-b", "Bob")
                rung = tick(16 + 20 * step)
                record_event(
                    session,
                    call,
                    events.RingAttempt(
                        engineer=who[0],
                        number="+15550001111",
                        result="no_answer" if step < 3 else "accepted",
                        step=step,
                        started=rung.isoformat(),
                        ended=tick(36 + 20 * step).isoformat(),
                        engineer_name=who[1],
                        seconds=20,
                    ),
                    tick(36 + 20 * step),
                )
            record_event(session, call, events.Accepted(engineer="eng-b", seconds=97), tick(97))
            record_event(
                session, call, events.CallEnded(status="completed", seconds=400), tick(400)
            )
            assert events_per_call == 10
        session.commit()
        return int(ticket.id)


def timed(client: Any, url: str, runs: int) -> list[float]:
    """Milliseconds of each of `runs` GETs of `url`, after one warm-up."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return times


def main() -> int:
    # Run as a script from anywhere: the project root holds packages the install may not map.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import models.users  # noqa: F401 - the dashboard tables
    from dashboard.users import create_user
    from hotline import create_app
    from hotline.migrate import upgrade
    from models.users import User, UserRole

    upgrade(args.url)
    data_dir = tempfile.mkdtemp(prefix="bench-")
    app = create_app(
        {
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": data_dir,
            "DATABASE_URL": args.url,
            "SECRET_KEY": "bench",
            "PIN_PEPPER": "bench",
        }
    )
    factory = app.extensions["sessionmaker"]
    began = time.perf_counter()
    seed(factory, args.tickets)
    busy = seed_busy_ticket(factory)
    print(f"seeded/checked {args.tickets:,} tickets in {time.perf_counter() - began:.1f} s")
    with factory() as session:
        if session.scalar(select(User).where(User.username == "bench")) is None:
            create_user(session, "bench", "Bench", "bench-password-1", UserRole.MANAGER)
            session.commit()

    client = app.test_client()
    client.get("/dashboard/login")
    with client.session_transaction() as sess:
        token = sess["csrf_token"]
    login = client.post(
        "/dashboard/login",
        data={"username": "bench", "password": "bench-password-1", "csrf_token": token},
    )
    assert login.status_code == 302

    cases = {
        "list (newest first)": "/dashboard/tickets/",
        "list page 20": "/dashboard/tickets/?page=20",
        "search 'firewall'": "/dashboard/tickets/?q=firewall",
        "search rare 'reference 99999'": "/dashboard/tickets/?q=reference+99999",
        "search ticket number": "/dashboard/tickets/?q=HL-054321",
        "search caller prefix": "/dashboard/tickets/?q=%2B1555123",
        "filter sev 1 + open + phone": "/dashboard/tickets/?severity=1&status=open&category=phone",
        "sort severity (S1 first)": "/dashboard/tickets/?sort=severity",
        "filter missed severity 1": "/dashboard/tickets/?severity=1&outcome=missed",
        "filter SLA breached": "/dashboard/tickets/?sla=breached",
        "filter answered=no + sev 1": "/dashboard/tickets/?severity=1&answered=no",
        "search answered-by name 'Lee Park'": "/dashboard/tickets/?q=Lee+Park",
        "severity-1 report (7 days)": "/dashboard/reports/severity-1",
    }
    worst = 0.0
    print(f"{'case':<34} {'median ms':>10} {'p90 ms':>8}")
    for name, url in cases.items():
        times = timed(client, url, args.runs)
        median = statistics.median(times)
        p90 = sorted(times)[int(0.9 * len(times)) - 1]
        worst = max(worst, median)
        print(f"{name:<34} {median:>10.1f} {p90:>8.1f}")
    verdict = "OK" if worst < BUDGET_MS else "TOO SLOW"
    print(f"worst median {worst:.1f} ms (budget {BUDGET_MS:.0f} ms): {verdict}")
    times = timed(client, f"/dashboard/tickets/{busy}", args.runs)
    page_median = statistics.median(times)
    page_ok = page_median < TICKET_PAGE_BUDGET_MS
    print(
        f"ticket page, 20 calls and 200 events: median {page_median:.1f} ms, p90 "
        f"{sorted(times)[int(0.9 * len(times)) - 1]:.1f} ms (budget {TICKET_PAGE_BUDGET_MS:.0f} "
        f"ms): {'OK' if page_ok else 'TOO SLOW'}"
    )
    return 0 if worst < BUDGET_MS and page_ok else 1


if __name__ == "__main__":
    sys.exit(main())
