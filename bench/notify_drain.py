"""Benchmark: outbox drain rate with 1 and 2 workers, and call end -> SMS at Twilio's API latency.

.venv/bin/python bench/notify_drain.py [--database-url URL] [--count 1000] [--calls 100]
    [--workers 1,2] [--profile bench/results/notify-drain.svg]

--profile records the worker's process tree (pool, RQ workers, relay) with py-spy during the
first drain and writes the flame graph there (py-spy is a dev dependency; needs ptrace rights).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.idle_worker import tree_cpu  # noqa: E402
from hotline.app import create_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.migrate import upgrade  # noqa: E402
from models import (  # noqa: E402
    Account,
    Call,
    Notification,
    NotificationChannel,
    NotificationStatus,
    Ticket,
    TicketOutcome,
    utcnow,
)
from notify import triggers  # noqa: E402
from notify.outbox import add_notification  # noqa: E402
from simulator import Simulator  # noqa: E402
from simulator.transport import HttpResponse  # noqa: E402

SID, TOKEN, PUBLIC = "AC" + "0" * 32, "0123456789abcdef0123456789abcdef", "https://bench.test"
DONE = (NotificationStatus.SENT, NotificationStatus.DELIVERED)


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker counts to drain with, in turn")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy flame graph (SVG)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgresql"):
        from kernel.db import make_engine

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
        }
        sim.attach(DroppedReceipts())
        app = create_app(env)
        print(f"database: {url.split('@')[-1]}   redis: embedded   twilio: simulator REST")
        for level, workers in enumerate(int(w) for w in args.workers.split(",")):
            profile = args.profile if level == 0 else None
            rate, worker_ms, bench_ms = drain_rate(app, env, sim, workers, args.count, profile)
            print(
                f"drain {args.count} notifications, {workers} worker(s): {rate:7.1f} /s "
                f"(CPU per notification: worker {worker_ms:.2f} ms, simulator + bench "
                f"{bench_ms:.2f} ms)"
            )
        if args.calls <= 0:
            return
        latencies = call_latency(app, env, sim, args.calls)
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
        print(
            f"call end -> SMS at Twilio API, 1 idle worker, {len(latencies)} calls: "
            f"median {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
            "slowest " + ", ".join(f"{x * 1000:.0f}" for x in sorted(latencies)[-3:]) + " ms"
        )
        app.extensions["engine"].dispose()


class DroppedReceipts:
    """Where the simulator's delivery receipts go in this bench: nowhere, at once. Receipts are
    the web tier's work (POST /notify/status), not the worker's; posting them to the unresolvable
    bench URL cost the simulator, in this very process, a DNS lookup and two threads a message."""

    def send(
        self, method: str, path: str, form: object, headers: dict[str, str], timeout: float
    ) -> HttpResponse:
        return HttpResponse(status=204, content_type="", body="")


def start_workers(env: dict[str, str], count: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker", "--count", str(count)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    # Started means registered with RQ (on a loaded machine that takes seconds, not a fixed 2).
    connection = redis.Redis.from_url(env["REDIS_URL"])
    deadline = time.monotonic() + 120
    while connection.scard("rq:workers") < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # and idle: the relay has had its first round
    return process


def stop_workers(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def done_count(app: object, since_id: int) -> int:
    with app.extensions["sessionmaker"]() as session:  # type: ignore[attr-defined]
        return int(
            session.scalar(
                select(func.count()).where(
                    Notification.id > since_id, Notification.status.in_(DONE)
                )
            )
            or 0
        )


def drain_rate(
    app: object,
    env: dict[str, str],
    sim: Simulator,
    workers: int,
    count: int,
    profile: Path | None = None,
) -> tuple[float, float, float]:
    """Notifications per second, and CPU ms per notification of the worker tree and of this
    process (the simulated Twilio API and the progress queries)."""
    process = start_workers(env, workers)
    spy = None
    try:
        with app.extensions["sessionmaker"]() as session:  # type: ignore[attr-defined]
            last = session.scalar(select(func.max(Notification.id))) or 0
            now = utcnow()
            for i in range(count):
                add_notification(
                    session, kind="pin_failure_burst", channel=NotificationChannel.SMS,
                    recipient=f"+1555{workers}{i:06d}", now=now, dedupe_key=f"bench-{workers}-{i}",
                    payload={"failures": i, "callers": 1, "window_minutes": 10},
                )  # fmt: skip
            if profile is not None:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                     str(process.pid), "--subprocesses", "--nonblocking", "--rate", "100",
                     "--output", str(profile)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)  # py-spy attached before the rows are committed
            session.commit()
        tree, bench = psutil.Process(process.pid), psutil.Process()
        cpu_before = tree_cpu(tree), _cpu(bench)
        start = time.monotonic()
        while done_count(app, last) < count:
            time.sleep(0.05)
        rate = count / (time.monotonic() - start)
        worker_ms = (tree_cpu(tree) - cpu_before[0]) * 1000 / count
        bench_ms = (_cpu(bench) - cpu_before[1]) * 1000 / count
        return rate, worker_ms, bench_ms
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its flame graph on SIGINT
            spy.wait(60)
        stop_workers(process)


def call_latency(app: object, env: dict[str, str], sim: Simulator, calls: int) -> list[float]:
    process = start_workers(env, 1)
    latencies = []
    try:
        with app.extensions["sessionmaker"]() as session:  # type: ignore[attr-defined]
            account = Account(name=f"Bench Corp {time.time():.0f}")
            session.add(account)
            session.commit()
            for i in range(calls):
                before = set(sim.message_arrivals)
                now = utcnow()
                ticket = Ticket(account=account, severity=1, outcome=TicketOutcome.MESSAGE)
                call = Call(
                    call_sid=f"CAbench{i}", ticket=ticket, from_number=f"+1555900{i:04d}",
                    status="completed", started_at=now, ended_at=now, duration_seconds=60,
                    # The caller's SMS goes only to a caller whose PIN was accepted.
                    pin_accepted_at=now,
                )  # fmt: skip
                session.add(call)
                session.flush()
                with app.app_context():  # type: ignore[attr-defined]
                    triggers.call_ended(session, call, now)
                session.commit()
                ended = time.monotonic()
                deadline = time.monotonic() + 60
                while not (new := set(sim.message_arrivals) - before):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"call {i}: no SMS reached the provider within 60 s")
                    time.sleep(0.002)
                latencies.append(sim.message_arrivals[new.pop()] - ended)
                time.sleep(0.05)  # the worker is idle again when the next call ends
    finally:
        stop_workers(process)
    return latencies


if __name__ == "__main__":
    main()
