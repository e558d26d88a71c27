"""The app's own Python CPU per step of a severity-1 call, in one process: voice, PIN, severity,
hold, each a signed webhook through Flask's test client, the dialer's REST work held.

CPU time of one process (time.process_time) hardly moves with the machine's load, so this
compares code before and after a change where wall-clock latencies on a shared machine can't.
The signature and the form are made before the clock starts; the app's signature check,
routing, SQLAlchemy, psycopg and the TwiML are all counted. PostgreSQL's own CPU is not.

Run: .venv/bin/python bench/step_cpu.py --database-url postgresql+psycopg://.../scratch
     [--calls 300] [--warmup 50] [--profile STEP] [--top 30]
A --database-url is emptied first (DROP SCHEMA public): give it a scratch database. Without
one a temporary SQLite file is used. Redis is an embedded server.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from call_storm import make_customers, prepare  # noqa: E402  # the storm's own seeding

from hotline import create_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from routing.store import load_demo_routing  # noqa: E402

PUBLIC = "https://hotline.steps.test"
TOKEN = "steps-auth-token-0123456789abcdef"
SID = "AC" + "7" * 32
HOTLINE_NUMBER = "+15005550006"
STEPS = ("voice", "pin", "severity", "hold")


class HeldWork:
    """The dialer's executor, keeping its REST work: only the webhooks' own CPU counts."""

    def __init__(self) -> None:
        self.held: list[Any] = []

    def submit(self, fn: Any, /, *args: Any) -> None:
        self.held.append((fn, args))

    def shutdown(self, wait: bool = True) -> None:
        self.held.clear()


class Caller:
    """One severity-1 caller posting signed webhooks, following the URLs the answers name."""

    validator = RequestValidator(TOKEN)

    def __init__(self, client: Any, keys: str, number: str) -> None:
        self.client = client
        self.keys = keys
        self.form = {
            "AccountSid": SID,
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": number,
            "To": HOTLINE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        self.named: dict[str, str] = {}

    def step(self, name: str) -> tuple[float, int]:
        """Post step `name`; its CPU seconds in this process and the HTTP status."""
        params = {"pin": {"Digits": self.keys}, "severity": {"Digits": "1"}}.get(name, {})
        if name == "hold":
            params = {"QueueTime": "0"}
        path = self.named.get(f"/ivr/{name}", f"/ivr/{name}")
        form = {**self.form, **params}
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(PUBLIC + path, form),
            "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        }
        started = time.process_time()
        response = self.client.post(path, data=form, headers=headers)
        spent = time.process_time() - started
        body = response.get_data(as_text=True)
        for attr in ("action", "waitUrl"):
            for chunk in body.split(f'{attr}="')[1:]:
                url = chunk.split('"', 1)[0].replace("&amp;", "&")
                if url.startswith(PUBLIC):
                    local = url.removeprefix(PUBLIC)
                    self.named[local.split("?", 1)[0]] = local
        if name == "severity" and "<Enqueue" not in body:
            raise SystemExit(f"severity 1 did not hold the caller: {body}")
        return spent, response.status_code


def main() -> None:
    """Parse arguments, run the calls, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database (emptied first)")
    parser.add_argument("--calls", type=int, default=300, help="measured calls")
    parser.add_argument("--warmup", type=int, default=50, help="calls before measuring")
    parser.add_argument(
        "--profile", choices=(*STEPS, "call"), help="cProfile this step (or all) of the calls"
    )
    parser.add_argument("--top", type=int, default=30, help="functions listed by --profile")
    parser.add_argument("--save", help="write --profile's stats to this file (pstats)")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after the warm-up (as a server could after its first requests)",
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'steps.db'}"
        prepare(url)
        with EmbeddedRedis(Path(tmp) / "redis") as redis_server:
            env = {
                "HOTLINE_ENV": "test",
                "HOTLINE_DATA_DIR": str(Path(tmp) / "var"),
                "DATABASE_URL": url,
                "REDIS_URL": redis_server.url,
                "SECRET_KEY": "steps",
                "PIN_PEPPER": "steps-pepper",
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": TOKEN,
                "PUBLIC_BASE_URL": PUBLIC,
                "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
                "HOTLINE_NUMBER": HOTLINE_NUMBER,
            }
            run(args, env)


def run(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Seed, drive the calls, print CPU per step."""
    app = create_app(env)
    dialer = app.extensions["dialer"]
    dialer.pool.shutdown(wait=True)
    dialer.pool = HeldWork()
    with app.extensions["sessionmaker"]() as session:
        load_demo_routing(session, datetime.now(UTC))
        session.commit()
    customers = make_customers(app, args.warmup + args.calls)
    client = app.test_client()
    spent: dict[str, list[float]] = {step: [] for step in STEPS}
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
    for index, (keys, number) in enumerate(customers):
        caller = Caller(client, keys, number)
        for step in STEPS:
            measured = index >= args.warmup
            if args.gc_freeze and index == args.warmup and step == STEPS[0]:
                gc.collect()
                gc.freeze()
            profiling = measured and args.profile in (step, "call")
            if profiling:
                profiler.enable()
            seconds, status = caller.step(step)
            if profiling:
                profiler.disable()
            if status != 200:
                raise SystemExit(f"{step} answered {status}")
            if measured:
                spent[step].append(seconds * 1000)
        dialer.pool.held.clear()
    url = env["DATABASE_URL"].split("://", 1)[0]
    print(f"{args.calls} severity-1 calls after {args.warmup} warm-up, {url}, CPU ms per step:")
    print("| step | mean | median | p90 |")
    print("|---|---|---|---|")
    for step, values in spent.items():
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(
            f"| {step} | {statistics.fmean(values):.2f} | {statistics.median(values):.2f} "
            f"| {p90:.2f} |"
        )
    total = sum(statistics.fmean(values) for values in spent.values())
    print(f"| call (4 steps) | {total:.2f} | | |")
    if args.profile:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        if args.save:
            stats.dump_stats(args.save)


if __name__ == "__main__":
    main()
