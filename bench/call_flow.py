"""Severity-1 calls through the phone simulator: IVR seconds to ringing and to connected,
and each voice webhook's latency over real HTTP.

Each call is placed twice over: once by a caller (and engineer) who listens to every prompt
to its end before pressing a key, as someone hearing the line for the first time does, and
once by one who types during the prompt (Twilio stops the speech at the first key).

Run: .venv/bin/python bench/call_flow.py [--database-url URL] [--calls N] [--ring-seconds S]
Without --database-url a temporary SQLite database is used; a URL given must be a scratch
database (it is migrated and rows are added). Redis is an embedded server either way.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from directory import add_contact, create_account
from entitlement import PinPolicy, issue_licence, issue_pin
from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis
from hotline.migrate import upgrade
from kernel.config import settings_of
from models import LicenceKind, PinKind
from routing.store import load_demo_routing
from simulator import Caller, Engineer, Simulator

Press = Literal["after", "barge"]
PUBLIC = "https://hotline.bench.test"
TOKEN = "bench-auth-token-0123456789abcdef"
SID = "AC" + "b" * 32
ENGINEERS = ("+15005550101", "+15005550102", "+15005550103")  # the demo rotation's phones


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Parse arguments, run the calls, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database (default: temporary SQLite)")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--ring-seconds", type=float, default=6.0, help="engineer answers after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            run(url, redis_server.url, Path(tmp), args)


def _customer_keys(app: Any) -> str:
    now = datetime.now(UTC)
    sessionmaker = app.extensions["sessionmaker"]
    with sessionmaker() as session:
        account = create_account(session, f"Bench {uuid.uuid4().hex[:8]}", ["db"])
        add_contact(session, account, "Ann Ops", "+14155550100", "ann@bench.test")
        issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=10))
        issue_licence(session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=10))
        policy = PinPolicy.from_settings(settings_of(app))
        # One-time PINs would be spent; a standing PIN is what a real caller types.
        keys = issue_pin(session, account, PinKind.STANDING, now, policy).keypad_entry
        session.commit()
    return keys


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The app under gunicorn in its own process, as in production; waits until it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--log-level", "warning", "wsgi:app"],
        env={**os.environ, **env},
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the app did not start under gunicorn")


def _pairs(ring: list[float], connect: list[float]) -> str:
    return ", ".join(f"{r:.1f}/{c:.1f}" for r, c in zip(ring, connect, strict=True))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run(database_url: str, redis_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    """Serve the app over HTTP, place the calls, print IVR times and webhook latencies."""
    upgrade(database_url)
    # Request logs would bury the figures; warnings and errors still show.
    logging.disable(logging.INFO)
    with Simulator(PUBLIC, TOKEN, SID, max_wall=120) as sim:
        env = {
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench",
            "PIN_PEPPER": "bench-pepper",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "PUBLIC_BASE_URL": PUBLIC,
            "TWILIO_API_BASE_URL": sim.rest_url,
        }
        app = create_app(env)
        with app.extensions["sessionmaker"]() as session:
            # The demo's on-call rotation and escalation policy, as `hotline demo` loads it.
            load_demo_routing(session, datetime.now(UTC))
            session.commit()
        # One customer per call: a second severity-1 call from one account would join the first.
        customers = [_customer_keys(app) for _ in range(2 * args.calls)]
        port = _free_port()
        server = _serve(env, port)
        try:
            sim.attach(f"http://127.0.0.1:{port}")
            to_ring: dict[str, list[float]] = defaultdict(list)
            to_connect: dict[str, list[float]] = defaultdict(list)
            latency: dict[str, list[float]] = defaultdict(list)
            inside: dict[str, list[float]] = defaultdict(list)
            for index, keys in enumerate(customers):
                press: Press = "after" if index % 2 == 0 else "barge"
                sim.engineers = {
                    number: Engineer(answer_after=args.ring_seconds, keys=("1",), press=press)
                    for number in ENGINEERS
                }
                caller = Caller(keys=[keys, "1"], press=press)
                report = sim.call(caller, from_="+14155550100")
                if report.failed or report.first_ring is None or report.connected is None:
                    raise SystemExit(f"a benchmark call failed: {report.errors}")
                to_ring[press].append(report.first_ring)
                to_connect[press].append(report.connected)
                for hook in report.webhooks:
                    if hook.kind in ("twiml", "action"):
                        path = urlsplit(hook.url).path
                        latency[path].append(hook.latency_ms)
                        if hook.server_ms is not None:
                            inside[path].append(hook.server_ms)
        finally:
            server.terminate()
            server.wait(timeout=30)
    everything = [ms for values in latency.values() for ms in values]
    engine = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"{args.calls} + {args.calls} severity-1 calls, valid 8-digit PIN, {engine}, engineer "
        f"answers after {args.ring_seconds:g} s of ringing (simulator clock); app under gunicorn"
    )
    for press, who in (
        ("after", "listening to each prompt to its end"),
        ("barge", "typing during the prompt"),
    ):
        ring, connect = to_ring[press], to_connect[press]
        print(f"  a caller and engineer {who}:")
        print(
            f"    IVR seconds from answer to first ring: median {statistics.median(ring):.1f} s, "
            f"max {max(ring):.1f} s (target <= 10 s)"
        )
        print(
            f"    IVR seconds from answer to connected : median "
            f"{statistics.median(connect):.1f} s, max {max(connect):.1f} s (target <= 20 s)"
        )
        # Each call, in order: an outlier shows whether it was the first (a cold worker).
        print(f"    each call, ring / connected: {_pairs(ring, connect)}")
    print(
        f"  voice webhooks: median {statistics.median(everything):.1f} ms as Twilio sees it, over "
        f"{len(everything)} requests (target: median < 20 ms)"
    )
    print("    webhook                as Twilio sees it (HTTP)      inside the app (Server-Timing)")
    for path, values in sorted(latency.items()):
        own = inside.get(path) or [float("nan")]
        print(
            f"    {path:22} median {statistics.median(values):5.1f} ms  "
            f"p95 {percentile(values, 0.95):5.1f} ms    "
            f"median {statistics.median(own):5.1f} ms  p95 {percentile(own, 0.95):5.1f} ms"
        )
    print(f"  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
