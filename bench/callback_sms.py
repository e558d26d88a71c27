"""Benchmark: a severity-1 call nobody accepted -> the on-call engineer's callback SMS at Twilio.

.venv/bin/python bench/callback_sms.py [--database-url URL] [--calls 100]

Each round makes the call flow's "nobody accepted" step happen (ivr.flow.nobody_answered: the
callback task and its on-call text, committed), then waits for that text to reach the simulator's
REST API through a real `hotline worker` (one idle worker plus its relay).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.notify_drain import PUBLIC, SID, TOKEN, start_workers, stop_workers  # noqa: E402
from hotline.app import create_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.migrate import upgrade  # noqa: E402
from ivr.flow import nobody_answered  # noqa: E402
from kernel.db import make_engine  # noqa: E402
from models import Account, Call, CallState, Ticket, utcnow  # noqa: E402
from simulator import Simulator  # noqa: E402

ONCALL = "+15005550101"


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="callback-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgresql"):
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    with EmbeddedRedis(tmp / "redis") as redis_server, Simulator(PUBLIC, TOKEN, SID) as sim:
        env = {
            **os.environ,
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": str(tmp / "var"),
            "DATABASE_URL": url,
            "REDIS_URL": redis_server.url,
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_API_BASE_URL": sim.rest_url,
            "PUBLIC_BASE_URL": PUBLIC,
            "SECRET_KEY": "bench",
            "PIN_PEPPER": "bench",
            "ONCALL_NUMBER": ONCALL,
        }
        app = create_app(env)
        print(f"database: {url.split('@')[-1]}   redis: embedded   twilio: simulator REST")
        latencies = callback_latency(app, env, sim, args.calls)
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
        print(
            f"nobody accepted -> on-call callback SMS at Twilio API, 1 idle worker, "
            f"{len(latencies)} calls: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms (target p99 < 2000 ms); slowest "
            + ", ".join(f"{x * 1000:.0f}" for x in sorted(latencies)[-3:])
            + " ms"
        )
        app.extensions["engine"].dispose()


def callback_latency(app: object, env: dict[str, str], sim: Simulator, calls: int) -> list[float]:
    process = start_workers(env, 1)
    latencies = []
    try:
        with app.extensions["sessionmaker"]() as session:  # type: ignore[attr-defined]
            account = Account(name="Bench Corp")
            session.add(account)
            session.commit()
            for i in range(calls):
                seen = len(sim.messages)
                now = utcnow()
                ticket = Ticket(account=account, severity=1, contact_phone=f"+1555900{i:04d}")
                call = Call(
                    call_sid=f"CAbench{i}", ticket=ticket, from_number=f"+1555900{i:04d}",
                    state=CallState.RINGING, started_at=now, pin_accepted_at=now, entitled_at=now,
                )  # fmt: skip
                session.add(call)
                session.flush()
                with app.app_context():  # type: ignore[attr-defined]
                    nobody_answered(session, call, now)
                session.commit()
                decided = time.monotonic()
                while True:
                    new = [m for m in sim.messages[seen:] if m["to"] == ONCALL]
                    if new:
                        break
                    time.sleep(0.002)
                latencies.append(sim.message_arrivals[new[0]["sid"]] - decided)
                time.sleep(0.05)  # the worker is idle again before the next call
    finally:
        stop_workers(process)
    return latencies


if __name__ == "__main__":
    main()
