"""Benchmark: the dashboard ticket list's response time with 100,000 tickets, and a search.

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
    return 0 if worst < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
