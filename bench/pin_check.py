"""Time one PIN check (verify_pin plus its commit, as the webhook does it): median and p95 in ms.

Run: .venv/bin/python bench/pin_check.py [--database-url URL] [--checks N]
Without --database-url a temporary SQLite database is made and removed; a URL given is used as it
is (migrated to head, rows added under unique account names), so point it at a scratch database.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from entitlement import IssuedPin, PinPolicy, issue_pin, verify_pin
from hotline.migrate import upgrade
from kernel.db import make_engine
from models import Account, PinKind, PinOutcome


def main() -> None:
    """Parse arguments, build the data, time the checks, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database (default: temporary SQLite)")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--pins", type=int, default=1000, help="PINs issued across the accounts")
    parser.add_argument("--checks", type=int, default=300, help="timed checks of each kind")
    args = parser.parse_args()
    if args.checks > args.pins - args.accounts:
        parser.error("--checks must leave one unused one-time PIN per check (raise --pins)")
    if args.database_url:
        run(args.database_url, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)


def run(url: str, args: argparse.Namespace) -> None:
    """Migrate, issue PINs, then time successful and unknown checks."""
    upgrade(url)
    engine = make_engine(url)
    make_session = sessionmaker(engine, expire_on_commit=False)
    policy = PinPolicy(pepper=secrets.token_urlsafe(32))
    now = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:8]
    per_account = max(1, args.pins // args.accounts)

    with make_session() as session:
        standing: list[IssuedPin] = []
        one_time: list[IssuedPin] = []
        for n in range(args.accounts):
            account = Account(name=f"bench-{run_id}-{n}")
            session.add(account)
            standing.append(issue_pin(session, account, PinKind.STANDING, now, policy))
            for _ in range(per_account - 1):
                one_time.append(issue_pin(session, account, PinKind.ONE_TIME, now, policy))
        session.commit()

    clock = [now]

    def timed(keys: Callable[[int], str], expected: PinOutcome) -> list[tuple[float, float]]:
        samples = []
        with make_session() as session:
            for n in range(args.checks):
                # Each check from its own number and call, a second apart, so no lockout applies.
                clock[0] += timedelta(seconds=1)
                caller, sid = f"+1555{run_id[:4]}{n:06d}", f"CA{uuid.uuid4().hex}"
                started = time.perf_counter()
                result = verify_pin(session, keys(n), caller, sid, clock[0], policy)
                checked = time.perf_counter()
                session.commit()
                done = time.perf_counter()
                samples.append(((checked - started) * 1000, (done - started) * 1000))
                assert result.outcome is expected, (result.outcome, expected)
        return samples

    # Warm up (connection pool, statement caches) so the first figures are not first-use costs.
    timed(lambda n: standing[n % len(standing)].keypad_entry, PinOutcome.OK)
    figures = {
        "standing (ok)": timed(lambda n: standing[n % len(standing)].keypad_entry, PinOutcome.OK),
        "one-time (ok)": timed(lambda n: one_time[n].keypad_entry, PinOutcome.OK),
        "unknown": timed(
            lambda n: "".join(secrets.choice("0123456789") for _ in range(8)), PinOutcome.UNKNOWN
        ),
    }
    figures["all"] = [ms for samples in figures.values() for ms in samples]
    load = os.getloadavg()[0]
    print(
        f"{engine.dialect.name}: {len(standing) + len(one_time)} PINs, {args.checks} checks each "
        f"(load average {load:.2f} on {os.cpu_count()} CPUs)"
    )
    print(f"  {'':14} {'with commit':>28}   {'queries only (no commit)':>28}")
    for name, pairs in figures.items():
        cells = []
        for samples in ([total for _, total in pairs], [check for check, _ in pairs]):
            p95 = statistics.quantiles(samples, n=20)[-1]
            cells.append(f"median {statistics.median(samples):6.2f} ms  p95 {p95:6.2f} ms")
        print(f"  {name:14} {cells[0]:>28}   {cells[1]:>28}")
    engine.dispose()


if __name__ == "__main__":
    main()
