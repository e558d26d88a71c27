"""Benchmark: a customer's "My tickets" on the portal, for an account with 10,000 tickets.

Run: .venv/bin/python bench/portal_tickets.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench]
The database is migrated and filled on first use (kept for later runs): the measured account
has --tickets tickets and other accounts four times as many, so the list must find one
account's rows among many. Each case is requested --runs times by a signed-in contact through
the real app (sessions, tenant check, query, template).
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
from ticket_list import timed  # the same warm-up and timing loop as the dashboard's bench

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
ACCOUNT = "Bench Customer"
WORDS = ["outage", "installer", "login", "slow", "backup", "vpn", "dns", "cert", "billing"]
CATEGORIES = ["phone", "installation", "outage", "data_not_captured", "billing", "question"]
BUDGET_MS = 100.0


def seed(factory: Any, target: int) -> int:
    """Make sure the bench account has `target` tickets (others 4x); returns its id."""
    from models import Account, Ticket, TicketOutcome, TicketStatus

    with factory() as session:
        account_id = session.scalar(select(Account.id).where(Account.name == ACCOUNT))
        if account_id is None:
            session.execute(
                insert(Account),
                [
                    {"name": n, "created_at": datetime.now(UTC)}
                    for n in [ACCOUNT] + [f"Other {i:02d}" for i in range(8)]
                ],
            )
            session.commit()
            account_id = session.scalar(select(Account.id).where(Account.name == ACCOUNT))
        others = session.scalars(select(Account.id).where(Account.name != ACCOUNT)).all()
        have = (
            session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.account_id == account_id)
            )
            or 0
        )
        if have >= target:
            return int(account_id)
        rng = random.Random(17)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        batch: list[dict[str, Any]] = []
        for i in range(have * 5, target * 5):
            words = rng.sample(WORDS, 3)
            created = start + timedelta(minutes=7 * i)
            batch.append(
                {
                    # One ticket in five is the bench account's.
                    "account_id": account_id if i % 5 == 0 else rng.choice(others),
                    "contact_name": f"Contact {i % 40}",
                    "severity": rng.choice([1, 2, 3, 3, 4]),
                    "category": rng.choice(CATEGORIES),
                    "subject": f"{words[0].capitalize()} {words[1]} problem #{i}",
                    "description": f"The {words[2]} fails since this morning, reference {i}.",
                    "status": rng.choice(list(TicketStatus)),
                    "outcome": rng.choice([None, *TicketOutcome]),
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
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        return int(account_id)


def signed_in_client(app: Any, account_id: int) -> Any:
    """A test client holding a portal session of a contact of the bench account."""
    from directory import add_contact, portal_access
    from models import Account, Contact, PortalUser, utcnow

    factory = app.extensions["sessionmaker"]
    with factory() as session:
        account = session.get(Account, account_id)
        contact = session.scalar(select(Contact).where(Contact.account_id == account_id))
        if contact is None:
            contact = add_contact(session, account, "Bench Contact", None, "bench@customer.test")
            session.flush()
        user = session.scalar(select(PortalUser).where(PortalUser.contact_id == contact.id))
        if user is None:
            user = PortalUser(contact_id=contact.id, can_manage_pins=True, invited_at=utcnow())
            session.add(user)
            session.flush()
        started = portal_access.start_session(session, user, utcnow())
        session.commit()
    client = app.test_client()
    client.set_cookie("hotline_portal", started.raw, path="/portal/")
    return client


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from hotline import create_app
    from hotline.migrate import upgrade

    upgrade(args.url)
    app = create_app(
        {
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": tempfile.mkdtemp(prefix="bench-"),
            "DATABASE_URL": args.url,
            "SECRET_KEY": "bench",
            "PIN_PEPPER": "bench",
        }
    )
    began = time.perf_counter()
    account_id = seed(app.extensions["sessionmaker"], args.tickets)
    print(
        f"seeded/checked {args.tickets:,} tickets of one account (and {4 * args.tickets:,} "
        f"of others) in {time.perf_counter() - began:.1f} s"
    )
    client = signed_in_client(app, account_id)
    page = client.get("/portal/tickets").get_data(as_text=True)
    assert f"{args.tickets:,}".replace(",", "") in page.replace(",", ""), "wrong ticket count"

    number = f"HL-{5 * (args.tickets // 2):06d}"
    cases = {
        "my tickets (newest first)": "/portal/tickets",
        "page 100": "/portal/tickets?page=100",
        "status pending": "/portal/tickets?status=pending",
        "status solved + category": "/portal/tickets?status=solved&category=installation",
        "search 'installer'": "/portal/tickets?q=installer",
        "search rare 'reference 25005'": "/portal/tickets?q=reference+25005",
        "search ticket number": f"/portal/tickets?q={number}",
        "sort by severity": "/portal/tickets?sort=severity",
        "sort recently updated": "/portal/tickets?sort=updated",
    }
    worst = 0.0
    print(f"{'case':<32} {'median ms':>10} {'p90 ms':>8}")
    for name, url in cases.items():
        times = timed(client, url, args.runs)
        median = statistics.median(times)
        p90 = sorted(times)[int(0.9 * len(times)) - 1]
        worst = max(worst, median)
        print(f"{name:<32} {median:>10.1f} {p90:>8.1f}")
    verdict = "OK" if worst < BUDGET_MS else "TOO SLOW"
    print(f"worst median {worst:.1f} ms (budget {BUDGET_MS:.0f} ms): {verdict}")
    return 0 if worst < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
