"""Benchmark: 1,000 emails through the SMTP intake -> tickets, and accepted -> auto-reply latency.

.venv/bin/python bench/mail_intake.py [--database-url URL] [--count 1000] [--clients 4]
                                      [--workers 2]

Production topology on this machine: `hotline mail-intake` and `hotline worker --count N` as
their own processes, embedded Redis, a real SMTP sink (aiosmtpd) for the replies. Each email
carries a valid PIN from a contact on file, so each one opens a ticket and is answered. The
clock for one email starts when the intake answers "250" and stops when its reply (matched by
In-Reply-To) reaches the sink.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory import add_contact, create_account  # noqa: E402
from entitlement.licences import issue_licence  # noqa: E402
from entitlement.pins import issue_pin  # noqa: E402
from entitlement.policy import PinPolicy  # noqa: E402
from hotline.app import create_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.migrate import upgrade  # noqa: E402
from kernel.config import settings_of  # noqa: E402
from models import LicenceKind, PinKind, Ticket  # noqa: E402

SUPPORT = "support@bench.test"
ACCOUNTS = 50


class Sink:
    """Our SMTP server for the replies: the arrival time of each, by the message it answers."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answered = str(message_from_bytes(envelope.original_content)["In-Reply-To"] or "")
        with self.lock:
            self.arrived.setdefault(answered, time.monotonic())
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, seconds: float = 120) -> None:
    """Until the intake answers (a loaded machine starts it slowly)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.noop()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def seed(app: Any) -> list[tuple[str, str]]:
    """ACCOUNTS entitled accounts, each with a contact and a standing PIN: (email, PIN)."""
    policy = PinPolicy.from_settings(settings_of(app))
    now = datetime.now(UTC)
    senders = []
    with app.extensions["sessionmaker"]() as session:
        for i in range(ACCOUNTS):
            account = create_account(session, f"Bench Customer {i:02d}", ["db"])
            address = f"ops{i:02d}@customer{i:02d}.test"
            add_contact(session, account, f"Ops {i:02d}", f"+1415555{i:04d}", address)
            issue_licence(session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=10))
            issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=10))
            senders.append(
                (address, issue_pin(session, account, PinKind.STANDING, now, policy).display)
            )
        session.commit()
    return senders


def send_all(
    port: int, senders: list[tuple[str, str]], count: int, clients: int, rate: float
) -> dict[str, float]:
    """Send `count` emails over `clients` connections; the time each was accepted, by id."""
    accepted: dict[str, float] = {}
    lock = threading.Lock()

    began = time.monotonic()

    def client(offset: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for n in range(offset, count, clients):
                if rate:
                    # Paced: email n leaves at n / rate seconds, whichever client sends it.
                    time.sleep(max(0.0, began + n / rate - time.monotonic()))
                address, pin = senders[n % len(senders)]
                message = EmailMessage()
                message["From"] = address
                message["To"] = SUPPORT
                message["Subject"] = f"PIN {pin} Workflow stopped unexpectedly #{n}"
                message["Message-ID"] = f"<bench-{n}@client.test>"
                message.set_content(f"Job {n} stopped at 02:00. Ops, 9-17.")
                smtp.send_message(message)
                with lock:
                    accepted[message["Message-ID"]] = time.monotonic()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted


def start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hotline", *args], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="emails per second (default: as fast as taken)"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mail-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgresql"):
        from kernel.db import make_engine

        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink()
    sink_port, intake_port = free_port(), free_port()
    sink_server = Controller(sink, hostname="127.0.0.1", port=sink_port)
    sink_server.start()
    with EmbeddedRedis(tmp / "redis") as redis_server:
        env = {
            **os.environ,
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": str(tmp / "var"),
            "DATABASE_URL": url,
            "REDIS_URL": redis_server.url,
            "PUBLIC_BASE_URL": "https://bench.test",
            "SECRET_KEY": "bench",
            "PIN_PEPPER": "bench",
            "SMTP_URL": f"smtp://127.0.0.1:{sink_port}",
            "MAIL_SUPPORT_ADDRESSES": SUPPORT,
            "SMTP_INTAKE_PORT": str(intake_port),
            "MAIL_SENDER_HOURLY": "100000",
            # Each new ticket also emails staff, as in production.
            "MANAGER_EMAILS": "support-team@bench.test",
        }
        app = create_app(env)
        senders = seed(app)
        intake = start(env, "mail-intake")
        workers = start(env, "worker", "--count", str(args.workers))
        wait_for_port(intake_port)
        time.sleep(3.0)  # the workers up and idle
        try:
            began = time.monotonic()
            accepted = send_all(intake_port, senders, args.count, args.clients, args.rate)
            if len(accepted) < args.count:
                raise SystemExit(f"the intake accepted only {len(accepted)} of {args.count}")
            sent_in = time.monotonic() - began
            deadline = time.monotonic() + 600
            while len(sink.arrived.keys() & accepted.keys()) < args.count:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(sink.arrived)} replies after 10 minutes")
                time.sleep(0.05)
            total = max(sink.arrived[k] for k in accepted) - began
        finally:
            stop(intake)
            stop(workers)
            sink_server.stop()
        with app.extensions["sessionmaker"]() as session:
            tickets = session.scalar(select(func.count()).select_from(Ticket)) or 0
        app.extensions["engine"].dispose()
    latencies = sorted(sink.arrived[k] - accepted[k] for k in accepted)
    p99 = statistics.quantiles(latencies, n=100)[98]
    pace = f"paced at {args.rate:g}/s" if args.rate else "as fast as accepted"
    print(f"database: {url.split('@')[-1]}   redis: embedded   {args.workers} worker(s), "
          f"{args.clients} SMTP clients, {pace}")  # fmt: skip
    print(f"{args.count} emails accepted by the intake in {sent_in:.1f} s "
          f"({args.count / sent_in:.0f} /s); {tickets} tickets opened")  # fmt: skip
    print(f"accepted -> ticket -> auto-reply at the sink, all {args.count}: {total:.1f} s "
          f"({args.count / total:.0f} emails/s)")  # fmt: skip
    print(f"accepted -> auto-reply latency: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
