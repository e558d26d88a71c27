"""A call storm: severity-1 calls arriving at random, as signed webhooks over real HTTP, against
the hotline under gunicorn and, in the same run, against a bare signed-TwiML Flask app.

Each call is one caller: voice -> PIN -> severity 1 -> hold -> (think) -> hang-up
(Enqueue action, then the status callback), with 0.5-2 s of thinking between answers and
Poisson arrivals at each level; per level it prints each webhook path's latency, the CPU its
request thread used (the app's Server-Timing `cpu`) and that CPU's share of the web workers'
(the simulated Twilio's own webhooks, such as SMS receipts, under `sim:`). Then a closed loop
of 16 clients on POST /ivr/voice gives the throughput of both apps and the server CPU per
request. The notification worker runs throughout; at the end every call must have exactly one
row and one ticket, no ring attempt is doubled, and every notification is sent exactly once
(counted at the Twilio simulator).

Run: .venv/bin/python bench/call_storm.py --database-url postgresql+psycopg://.../scratch
     [--levels 2,5,10,20] [--seconds 20] [--closed-seconds 10] [--web 1] [--workers 1]
     [--web-workers 2] [--worker-class gthread] [--threads 4] [--profile-dir DIR]
     [--profile-gil] [--profile-voice]
A --database-url is emptied first (DROP SCHEMA public): give it a scratch database. Without
one a temporary SQLite file is used. Redis is an embedded server; Twilio is the simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from directory import add_contact, create_account  # noqa: E402
from entitlement import PinPolicy, issue_licence, issue_pin  # noqa: E402
from hotline import create_app  # noqa: E402
from hotline.embedded_redis import EmbeddedRedis  # noqa: E402
from hotline.migrate import upgrade  # noqa: E402
from kernel.config import settings_of  # noqa: E402
from kernel.db import make_engine  # noqa: E402
from kernel.statements import StatementCounter  # noqa: E402
from models import (  # noqa: E402
    Call,
    LicenceKind,
    Notification,
    NotificationChannel,
    NotificationStatus,
    PinKind,
    RingAttempt,
)
from routing.store import load_demo_routing  # noqa: E402
from simulator import Simulator  # noqa: E402
from simulator.transport import Form, HttpResponse, HttpTransport  # noqa: E402

PUBLIC = "https://hotline.storm.test"
TOKEN = "storm-auth-token-0123456789abcdef"
SID = "AC" + "5" * 32
HOTLINE_NUMBER = "+15005550006"
FINISHED = (NotificationStatus.SENT, NotificationStatus.DELIVERED)
URL_ATTRS = re.compile(r'(?:action|waitUrl)="([^"]+)"')


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` fall (nearest rank); NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class Step:
    """What one webhook path answered during one phase."""

    latencies: list[float] = field(default_factory=list)  # ms, as the caller's side saw it
    inside: list[float] = field(default_factory=list)  # ms, the app's own Server-Timing
    cpu: list[float] = field(default_factory=list)  # ms of the request thread's CPU


@dataclass
class Tally:
    """What one app answered during one phase."""

    latencies: list[float] = field(default_factory=list)  # ms, as the caller's side saw it
    inside: list[float] = field(default_factory=list)  # ms, the app's own Server-Timing
    errors: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    steps: dict[str, Step] = field(default_factory=dict)  # by webhook path

    def line(self) -> str:
        """p50/p95/p99 (and in-app p50 when the app says it)."""
        p = [percentile(self.latencies, s) for s in (0.5, 0.95, 0.99)]
        own = f"  in-app p50 {percentile(self.inside, 0.5):5.1f}" if self.inside else ""
        bad = f"  errors {dict(self.errors)}" if self.errors else ""
        return (
            f"p50 {p[0]:6.1f}  p95 {p[1]:7.1f}  p99 {p[2]:7.1f} ms  "
            f"({len(self.latencies)} requests, {self.calls} calls){own}{bad}"
        )

    def record(self, path: str, elapsed: float, timing: str, caller: bool = True) -> None:
        """One answered request: its latency, and the app's wall and CPU time if it says them.

        Only the callers' requests count in the phase's own figures; the webhooks Twilio
        (the simulator) sends about the engineers' legs count under their path only.
        """
        step = self.steps.setdefault(path, Step())
        step.latencies.append(elapsed)
        if caller:
            self.latencies.append(elapsed)
        for part in timing.split(","):
            name, _, value = part.strip().partition(";dur=")
            if not value:
                continue
            if name == "app":
                step.inside.append(float(value))
                if caller:
                    self.inside.append(float(value))
            elif name == "cpu":
                step.cpu.append(float(value))

    def by_path(self, server_cpu_ms: float) -> list[str]:
        """Per webhook path: p50/p99, in-app p50, the request thread's CPU per request and its
        share of the server's CPU over the phase; `sim:` paths are the engineers' legs' webhooks
        (sent by the simulated Twilio), and the rest is the dialer's threads and gunicorn's own
        work, per caller request."""
        lines = [
            "      path         requests   p50 ms   p99 ms  in-app p50  cpu ms/req  share of cpu"
        ]
        accounted = 0.0
        for path, step in sorted(self.steps.items(), key=lambda item: -sum(item[1].cpu)):
            spent = sum(step.cpu)
            accounted += spent
            share = spent / server_cpu_ms * 100 if server_cpu_ms else float("nan")
            lines.append(
                f"      {path:14} {len(step.latencies):8}  {percentile(step.latencies, 0.5):7.1f}"
                f"  {percentile(step.latencies, 0.99):7.1f}  {percentile(step.inside, 0.5):10.1f}"
                f"  {(spent / len(step.cpu)) if step.cpu else float('nan'):10.2f}  {share:11.1f}%"
            )
        if server_cpu_ms and accounted:
            rest = server_cpu_ms - accounted
            lines.append(
                f"      {'(outside)':14} {'':8}  {'':7}  {'':7}  {'':10}  "
                f"{rest / max(1, len(self.latencies)):10.2f}  {rest / server_cpu_ms * 100:11.1f}%"
                "   dialer threads, gunicorn, outside the request timers"
            )
        return lines


class Phone:
    """Signs and posts webhooks the way Twilio does, following the URLs each answer names."""

    def __init__(self, http: aiohttp.ClientSession, bases: list[str]) -> None:
        self.http = http
        self.bases = bases
        self.validator = RequestValidator(TOKEN)
        self.turn = 0

    async def post(self, path: str, form: dict[str, str], tally: Tally) -> str:
        """POST `form` to `path` (signed over PUBLIC + path); the TwiML or '' for a 204."""
        url = PUBLIC + path
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(url, form),
            "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        }
        base = self.bases[self.turn % len(self.bases)]  # a load balancer's round robin
        self.turn += 1
        started = time.perf_counter()
        try:
            async with self.http.post(base + path, data=form, headers=headers) as response:
                body = await response.text()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status not in (200, 204):
                    tally.errors[f"{path.split('?')[0]} {response.status}"] += 1
                    return ""
                timing = response.headers.get("Server-Timing", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.errors[f"{path.split('?')[0]} {type(exc).__name__}"] += 1
            return ""
        tally.record(path.split("?")[0].removeprefix("/ivr/"), elapsed, timing)
        return body


class CountedTransport(HttpTransport):
    """The simulator's webhooks to the hotline (the engineers' legs), tallied by path too."""

    tally: Tally | None = None  # the level being measured, if any

    def send(
        self, method: str, path: str, form: Form, headers: dict[str, str], timeout: float
    ) -> HttpResponse:
        started = time.perf_counter()
        url = self.base_url + path
        resp = self._session().post(url, data=form, headers=headers, timeout=timeout)
        elapsed = (time.perf_counter() - started) * 1000
        timing = resp.headers.get("Server-Timing", "")
        if self.tally is not None:
            local = path.split("?")[0].removeprefix("/ivr/")
            self.tally.record("sim:" + local, elapsed, timing, caller=False)
        return HttpResponse(resp.status_code, resp.headers.get("Content-Type", ""), resp.text, None)


def named(document: str, path: str) -> str:
    """The URL (path and query) the TwiML names for `path`, or `path` itself."""
    for url in URL_ATTRS.findall(document):
        local = url.replace("&amp;", "&").removeprefix(PUBLIC)
        if local.split("?", 1)[0] == path:
            return local
    return path


async def severity1_call(
    http: aiohttp.ClientSession, bases: list[str], keys: str, caller: str, tally: Tally
) -> str:
    """One caller's whole severity-1 call; returns its CallSid."""
    phone = Phone(http, bases)
    sid = "CA" + uuid.uuid4().hex
    form = {
        "AccountSid": SID,
        "CallSid": sid,
        "From": caller,
        "To": HOTLINE_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }

    async def think() -> None:
        await asyncio.sleep(random.uniform(0.5, 2.0))

    document = await phone.post("/ivr/voice", {**form, "CallStatus": "ringing"}, tally)
    await think()
    document = await phone.post(named(document, "/ivr/pin"), {**form, "Digits": keys}, tally)
    await think()
    document = await phone.post(named(document, "/ivr/severity"), {**form, "Digits": "1"}, tally)
    hold = {**form, "QueueSid": "QU" + "0" * 32, "QueueTime": "0", "CurrentQueueSize": "1"}
    await phone.post(named(document, "/ivr/hold"), hold, tally)
    await think()
    done = {**form, "QueueResult": "hangup", "QueueTime": "2"}
    await phone.post(named(document, "/ivr/queue-done"), done, tally)
    status = {**form, "CallStatus": "completed", "CallDuration": "9"}
    await phone.post("/ivr/status", status, tally)
    tally.calls += 1
    return sid


async def storm(
    bases: list[str],
    rate: float,
    seconds: float,
    customers: list[tuple[str, str]],
    tally: Tally,
) -> list[str]:
    """Calls arriving at `rate` a second (Poisson) for `seconds`; waits for all to finish."""
    tasks = []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=15)  # Twilio's limit for a webhook
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end and customers:
            keys, caller = customers.pop()
            tasks.append(asyncio.create_task(severity1_call(http, bases, keys, caller, tally)))
            await asyncio.sleep(random.expovariate(rate))
        sids = await asyncio.gather(*tasks)
    return list(sids)


async def closed_loop(bases: list[str], clients: int, seconds: float) -> tuple[Tally, list[str]]:
    """`clients` callers each posting a new call's POST /ivr/voice as fast as it is answered."""
    tally, sids = Tally(), []
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        end = time.monotonic() + seconds

        async def client(index: int) -> None:
            phone = Phone(http, bases[index % len(bases) :] + bases[: index % len(bases)])
            while time.monotonic() < end:
                sid = "CA" + uuid.uuid4().hex
                form = {
                    "AccountSid": SID,
                    "CallSid": sid,
                    "From": f"+1415556{index:04d}",
                    "To": HOTLINE_NUMBER,
                    "CallStatus": "ringing",
                    "Direction": "inbound",
                    "ApiVersion": "2010-04-01",
                }
                await phone.post("/ivr/voice", form, tally)
                sids.append(sid)

        await asyncio.gather(*(client(i) for i in range(clients)))
    return tally, sids


class Server:
    """gunicorn masters (one per port, as separate hosts would be) for one WSGI app."""

    def __init__(
        self, app: str, env: dict[str, str], cwd: Path, args: argparse.Namespace, count: int
    ) -> None:
        self.processes: list[psutil.Popen] = []
        self.bases: list[str] = []
        for _ in range(count):
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.web_workers),
                "--worker-class",
                args.worker_class,
                "--threads",
                str(args.threads),
                "--log-level",
                "warning",
                "--timeout",
                "14",
                "--backlog",
                "2048",
                app,
            ]
            # Request logs go to a file: on the terminal they would bury the figures.
            with open(Path(env["HOTLINE_DATA_DIR"]).parent / "gunicorn.log", "ab") as log:
                self.processes.append(
                    psutil.Popen(command, env=env, cwd=cwd, stdout=log, stderr=log)
                )
            self.bases.append(f"http://127.0.0.1:{port}")
        for base in self.bases:
            wait_until_up(base)

    def cpu_seconds(self) -> float:
        """CPU (user + system) used so far by every master and its workers."""
        total = 0.0
        for master in self.processes:
            for process in [master, *master.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def settle(self, most: float = 60.0) -> None:
        """Wait until the workers are idle: requests a timed-out client left queued are done."""
        deadline = time.monotonic() + most
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(1.0)
            if self.cpu_seconds() - before < 0.05:
                return

    def worker_pids(self) -> list[int]:
        """The pids of the web workers (for a profiler)."""
        return [child.pid for master in self.processes for child in master.children()]

    def stop(self) -> None:
        """Stop every master gracefully."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(30)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(base: str) -> None:
    """Wait (up to 30 s) until GET /healthz answers."""
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{base} did not start under gunicorn")


def database_cpu_seconds(app: Any, url: str) -> float | None:
    """CPU used so far by PostgreSQL's backends serving this database (None on SQLite)."""
    if not url.startswith("postgresql"):
        return None
    with app.extensions["engine"].connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


def prepare(url: str) -> None:
    """Empty a PostgreSQL scratch database, then migrate."""
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def make_customers(app: Any, count: int) -> list[tuple[str, str]]:
    """`count` entitled accounts, one standing PIN and one caller number each."""
    now = datetime.now(UTC)
    policy = PinPolicy.from_settings(settings_of(app))
    made = []
    with app.extensions["sessionmaker"]() as session:
        for index in range(count):
            caller = f"+1415{7000000 + index:07d}"
            account = create_account(session, f"Storm {index} {uuid.uuid4().hex[:6]}", ["db"])
            add_contact(session, account, f"Contact {index}", caller, f"c{index}@storm.test")
            issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=10))
            issue_licence(session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=10))
            keys = issue_pin(session, account, PinKind.STANDING, now, policy).keypad_entry
            made.append((keys, caller))
            if index % 100 == 99:
                session.commit()
        session.commit()
    return made


def statements_per_call(
    app: Any, customers: list[tuple[str, str]]
) -> tuple[float, float, float, float]:
    """SQL statements per severity-1 call from greeting to hold, counted in-process: the
    webhooks' own, and with the background dialer's (placing the engineers' calls) added;
    then the same as round trips (BEGIN, COMMIT and savepoints counted too)."""
    client = app.test_client()
    validator = RequestValidator(TOKEN)
    engine = app.extensions["engine"]
    everything, own = StatementCounter(engine), StatementCounter(engine, this_thread_only=True)
    total = total_own = trips = trips_own = 0
    for customer in customers:
        sid = "CA" + uuid.uuid4().hex
        base = {
            "AccountSid": SID,
            "CallSid": sid,
            "From": customer[1],
            "To": HOTLINE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        steps = [
            ("/ivr/voice", {}),
            ("/ivr/pin", {"Digits": customer[0]}),
            ("/ivr/severity", {"Digits": "1"}),
            ("/ivr/hold", {"QueueTime": "0"}),
        ]
        document = ""
        with everything.counting(), own.counting():
            for path, extra in steps:
                target = named(document, path)
                form = {**base, **extra}
                signature = validator.compute_signature(PUBLIC + target, form)
                response = client.post(
                    target,
                    data=form,
                    headers={
                        "X-Twilio-Signature": signature,
                        "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
                    },
                )
                document = response.get_data(as_text=True)
            time.sleep(0.3)  # the dialer places the engineers' calls in the background
            spent, spent_own = everything.take(), own.take()
            total += len(spent.statements)
            total_own += len(spent_own.statements)
            trips += len(spent.round_trips)
            trips_own += len(spent_own.round_trips)
        # Hang up outside the count (the greeting-to-hold budget is what the target names).
        for path, extra in [
            ("/ivr/queue-done", {"QueueResult": "hangup"}),
            ("/ivr/status", {"CallStatus": "completed", "CallDuration": "5"}),
        ]:
            target = named(document, path)
            form = {**base, **extra}
            signature = validator.compute_signature(PUBLIC + target, form)
            client.post(target, data=form, headers={"X-Twilio-Signature": signature})
    calls = len(customers)
    return total_own / calls, total / calls, trips_own / calls, trips / calls


def wait_for_notifications(app: Any, seconds: float = 120) -> tuple[int, int]:
    """Wait until no notification is waiting; (finished, still waiting)."""
    deadline = time.monotonic() + seconds
    while True:
        with app.extensions["sessionmaker"]() as session:
            rows = session.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            ).all()
        counts = {status: n for status, n in rows}
        finished = sum(n for status, n in counts.items() if status in FINISHED)
        waiting = sum(
            n
            for status, n in counts.items()
            if status not in FINISHED and status is not NotificationStatus.DEAD
        )
        if waiting == 0 or time.monotonic() > deadline:
            return finished, waiting
        time.sleep(0.5)


def integrity(app: Any, sim: Simulator, sids: list[str]) -> list[str]:
    """Every placed call has one row and one ticket; no ring attempt or send is doubled."""
    problems = []
    with app.extensions["sessionmaker"]() as session:
        rows = Counter(session.scalars(select(Call.call_sid).where(Call.call_sid.in_(sids))))
        missing = [sid for sid in sids if rows[sid] == 0]
        doubled = [sid for sid, n in rows.items() if n > 1]
        if missing or doubled:
            problems.append(f"calls: {len(missing)} missing, {len(doubled)} doubled")
        tickets = session.execute(
            select(Call.ticket_id, func.count())
            .where(Call.call_sid.in_(sids))
            .group_by(Call.ticket_id)
            .having(func.count() > 1)
        ).all()
        if tickets:
            problems.append(f"tickets shared by two calls: {len(tickets)}")
        rings = session.execute(
            select(RingAttempt.call_id, RingAttempt.step, RingAttempt.phone, func.count())
            .group_by(RingAttempt.call_id, RingAttempt.step, RingAttempt.phone)
            .having(func.count() > 1)
        ).all()
        if rings:
            problems.append(f"ring attempts doubled: {len(rings)}")
        sms = session.execute(
            select(Notification.id, Notification.provider_id, Notification.status).where(
                Notification.channel == NotificationChannel.SMS
            )
        ).all()
    sent = Counter(message["sid"] for message in sim.messages)
    ours = {provider for _id, provider, status in sms if status in FINISHED}
    unsent = [row_id for row_id, provider, status in sms if provider not in sent]
    if unsent:
        problems.append(f"SMS notifications with no send at the provider: {len(unsent)}")
    strays = [sid for sid in sent if sid not in ours]
    if strays:
        problems.append(f"sends with no sent notification (duplicates?): {len(strays)}")
    return problems


def main() -> None:
    """Parse arguments, run both apps through the same load, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database (emptied first)")
    parser.add_argument("--levels", default="2,5,10,20", help="arrivals per second, by level")
    parser.add_argument("--seconds", type=float, default=20.0, help="of arrivals per level")
    parser.add_argument("--closed-seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16, help="of the closed loop")
    parser.add_argument("--web", type=int, default=1, help="gunicorn masters (hosts)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers each")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--workers", type=int, default=1, help="`hotline worker` processes")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baseline")
    parser.add_argument("--profile-dir", help="py-spy the web workers during the storm")
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="record only threads holding the GIL (py-spy --gil): where the CPU goes, without "
        "the time threads spend waiting on PostgreSQL or the network",
    )
    parser.add_argument(
        "--profile-voice",
        action="store_true",
        help="also py-spy the hotline's closed loop into --profile-dir (voice-worker-N.svg; "
        "the profiler's own CPU then lowers the ratio a little)",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]  # a level a line
    logging.disable(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'storm.db'}"
        prepare(url)
        with (
            EmbeddedRedis(Path(tmp) / "redis") as redis_server,
            Simulator(PUBLIC, TOKEN, SID, max_wall=3600) as sim,
        ):
            env = {
                **os.environ,
                "HOTLINE_ENV": "test",
                "HOTLINE_DATA_DIR": str(Path(tmp) / "var"),
                "DATABASE_URL": url,
                "REDIS_URL": redis_server.url,
                "SECRET_KEY": "storm",
                "PIN_PEPPER": "storm-pepper",
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": TOKEN,
                "PUBLIC_BASE_URL": PUBLIC,
                "TWILIO_API_BASE_URL": sim.rest_url,
                "HOTLINE_NUMBER": HOTLINE_NUMBER,
                # An outage minute: every caller gets their text (the hourly caps are a guard
                # against abuse, not what is measured here).
                "SMS_GLOBAL_HOURLY": "1000000",
                "SMS_PER_NUMBER_HOURLY": "1000",
            }
            run(args, url, env, sim)


def run(args: argparse.Namespace, url: str, env: dict[str, str], sim: Simulator) -> None:
    """Seed, start the services, drive the phases, check, print."""
    app = create_app(env)
    with app.extensions["sessionmaker"]() as session:
        load_demo_routing(session, datetime.now(UTC))
        session.commit()
    levels = [float(level) for level in args.levels.split(",") if level]
    needed = int(sum(level * args.seconds * 1.3 + 20 for level in levels)) + 40
    started = time.monotonic()
    customers = make_customers(app, needed)
    print(f"seeded {needed} accounts in {time.monotonic() - started:.0f} s")
    per_call = statements_per_call(app, [customers.pop() for _ in range(20)])
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "hotline", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(args.workers)
    ]
    hotline = Server("wsgi:app", env, ROOT, args, args.web)
    bare = None if args.no_bare else Server("bare_twiml:create_app()", env, ROOT / "bench", args, 1)
    transport = CountedTransport(hotline.bases[0])
    sim.attach(transport)
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"{engine}; {args.web} gunicorn master(s) x {args.web_workers} {args.worker_class} "
        f"worker(s) x {args.threads} thread(s); {args.workers} notification worker(s); "
        f"{psutil.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start"
    )
    placed: list[str] = []
    profiler = None
    try:
        print(f"\nstorm: {args.seconds:g} s of Poisson arrivals per level, think 0.5-2 s")
        for level in levels:
            if bare is not None:
                tally = Tally()
                asyncio.run(storm(bare.bases, level, args.seconds, customers[:], tally))
                print(f"  {level:4g} calls/s  bare    {tally.line()}")
            hotline.settle()
            if args.profile_dir and level == max(levels) and profiler is None:
                profiler = start_profiler(hotline, Path(args.profile_dir), gil=args.profile_gil)
            cpu0, db0 = hotline.cpu_seconds(), database_cpu_seconds(app, url)
            tally = Tally()
            transport.tally = tally
            sids = asyncio.run(storm(hotline.bases, level, args.seconds, customers, tally))
            transport.tally = None
            placed += sids
            spent = (hotline.cpu_seconds() - cpu0) * 1000
            cpu = spent / max(1, len(tally.latencies))
            db1 = database_cpu_seconds(app, url)
            db = (
                f" + {(db1 - db0) * 1000 / max(1, len(tally.latencies)):.1f} in PostgreSQL"
                if db0 is not None and db1 is not None
                else ""
            )
            print(
                f"  {level:4g} calls/s  hotline {tally.line()}  cpu {cpu:.1f} ms/request{db}"
                f"  (load average {os.getloadavg()[0]:.2f})"
            )
            for line in tally.by_path(spent):
                print(line)
        if profiler is not None:
            stop_profiler(profiler)
        print(
            f"\nclosed loop: {args.clients} clients on POST /ivr/voice, {args.closed_seconds:g} s"
        )
        rates = {}
        for name, server in (("bare", bare), ("hotline", hotline)):
            if server is None:
                continue
            server.settle()
            voice_profiler = None
            if server is hotline and args.profile_dir and args.profile_voice:
                voice_profiler = start_profiler(hotline, Path(args.profile_dir), "voice")
            cpu0, db0 = server.cpu_seconds(), database_cpu_seconds(app, url)
            started = time.monotonic()
            tally, sids = asyncio.run(closed_loop(server.bases, args.clients, args.closed_seconds))
            elapsed = time.monotonic() - started
            if voice_profiler is not None:
                stop_profiler(voice_profiler)
            if server is hotline:
                placed += sids
            done = max(1, len(tally.latencies))
            rates[name] = done / elapsed
            cpu = (server.cpu_seconds() - cpu0) * 1000 / done
            db1 = database_cpu_seconds(app, url)
            db = (
                f" + {(db1 - db0) * 1000 / done:.2f} ms in PostgreSQL"
                if server is hotline and db0 is not None and db1 is not None
                else ""
            )
            print(
                f"  {name:8} {rates[name]:7.1f} req/s   p50 {percentile(tally.latencies, 0.5):6.1f}"
                f"  p99 {percentile(tally.latencies, 0.99):7.1f} ms   server CPU {cpu:.2f} "
                f"ms/request{db}" + (f"  errors {dict(tally.errors)}" if tally.errors else "")
            )
        if "bare" in rates:
            print(f"  throughput ratio hotline/bare: {rates['hotline'] / rates['bare']:.2f}")
        print(
            f"\nSQL statements per severity-1 call, greeting to hold: {per_call[0]:.1f} in the "
            f"webhooks, {per_call[1]:.1f} with the dialer's (20 calls, in-process); round "
            f"trips {per_call[2]:.1f} and {per_call[3]:.1f} (BEGIN, COMMIT counted too)"
        )
        finished, waiting = wait_for_notifications(app)
        problems = integrity(app, sim, placed)
        print(
            f"\nchecks: {len(placed)} calls placed; {finished} notifications sent, "
            f"{waiting} still waiting; {len(sim.messages)} SMS at the provider"
        )
        for problem in problems or [
            "every call has one row and one ticket; no ring attempt "
            "doubled; every SMS notification sent exactly once"
        ]:
            print(f"  {problem}")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        hotline.stop()
        if bare is not None:
            bare.stop()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        app.extensions["engine"].dispose()


def start_profiler(
    server: Server, out: Path, name: str = "storm", gil: bool = False
) -> list[subprocess.Popen[bytes]]:
    """py-spy recording each web worker (flame graphs as SVG) until stopped."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "flamegraph",
                "--output",
                str(out / f"{name}-worker-{index}.svg"),
                "--nonblocking",
                *(["--gil"] if gil else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index, pid in enumerate(server.worker_pids())
    ]


def stop_profiler(profilers: list[subprocess.Popen[bytes]]) -> None:
    """Stop py-spy: SIGINT makes it write its file."""
    for process in profilers:
        process.send_signal(signal.SIGINT)
    for process in profilers:
        process.wait(60)


if __name__ == "__main__":
    main()
