"""The production topology, locally: gunicorn (2 workers), `hotline worker`, a Redis with AOF
started here, and PostgreSQL reached through a proxy the tests can cut.

PostgreSQL must answer at FAULTS_PG_URL (default 127.0.0.1:5432, user postgres); the suite
makes and drops its own database there. Without it the suite is skipped with a message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from flask import Flask
from sqlalchemy.engine import make_url

from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis
from hotline.migrate import upgrade
from routing.store import load_routing_text
from simulator import Simulator
from simulator.parties import Prompt
from simulator.transport import Form, HttpResponse, HttpTransport
from tests.conftest import FAULT_RESULTS, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.faults.proxy import CuttableProxy
from tests.ivr.conftest import Customer, make_customer

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("FAULTS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ANA, BEN = "+15005550111", "+15005550112"
ROUTING = f"""
engineers:
  ana: {{name: Ana Lima, phone: "{ANA}", email: ana@example.com, timezone: UTC}}
  ben: {{name: Ben Ito, phone: "{BEN}", email: ben@example.com, timezone: UTC}}
schedules:
  primary:
    timezone: UTC
    layers:
      - rotation: weekly
        start: "2026-01-05 09:00"
        participants: [ana]
policies:
  main:
    repeat: 1
    levels:
      - targets: [schedule: primary, engineer: ben]
        strategy: simultaneous
        ring_timeout: 20
default_policy: main
products: {{}}
"""
FAST = {
    "NOTIFY_RETRY_BASE_SECONDS": "0.5",
    "NOTIFY_RELAY_INTERVAL": "0.05",
    "NOTIFY_SWEEP_INTERVAL": "1",
    "NOTIFY_SWEEP_GRACE": "3",
    "NOTIFY_JOB_TIMEOUT": "10",
    "NOTIFY_HTTP_TIMEOUT": "5",
    "RECONCILE_AFTER_SECONDS": "20",
    "RECONCILE_INTERVAL_SECONDS": "3",
    "DB_TIMEOUT_SECONDS": "2",
    "DB_BREAKER_SECONDS": "2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class FaultyTransport(HttpTransport):
    """Real HTTP, with a hook run while a chosen webhook is being served."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.during: Callable[[str], None] | None = None

    def send(
        self, method: str, path: str, form: Form, headers: dict[str, str], timeout: float
    ) -> HttpResponse:
        hook = self.during
        if hook is not None:
            threading.Timer(0.005, hook, args=(path,)).start()
        return super().send(method, path, form, headers, timeout)


@dataclass
class Topology:
    """Handles on every part, and the switches that break them."""

    root: Path
    env: dict[str, str]
    port: int
    proxy: CuttableProxy
    redis: EmbeddedRedis
    sim: Simulator
    transport: FaultyTransport
    seed_app: Flask
    gunicorn: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start_gunicorn(self) -> None:
        log = (self.root / "gunicorn.log").open("ab")
        with log:
            self.gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "2", "--timeout", "14", "--graceful-timeout", "3", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for(self._web_answers, 60, "gunicorn to answer")

    def _web_answers(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    def start_worker(self) -> None:
        log = (self.root / "worker.log").open("ab")
        with log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "hotline", "worker", "--count", "2"],
                cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill_worker(self) -> None:
        """SIGKILL the worker pool and every process in its group."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)

    def web_worker_pids(self) -> list[int]:
        assert self.gunicorn is not None
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        running = [p for p in (self.gunicorn, self.worker) if p is not None and p.poll() is None]
        # Both told at once: each takes a second or two to stop gracefully. A worker pool told
        # to stop while its workers were still starting can wait for them forever; the tests
        # are over by now, so it is killed after 5 s instead of 15.
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def customers(self, count: int) -> list[Customer]:
        """`count` entitled accounts of their own (so no call joins another's ticket)."""
        with self.seed_app.extensions["sessionmaker"]() as session:
            return [
                make_customer(self.seed_app, session, name=f"Co {uuid.uuid4().hex[:8]}")
                for _ in range(count)
            ]

    def log_tail(self) -> str:
        parts = []
        for name in ("gunicorn.log", "worker.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text()[-6000:])
        return "\n".join(parts)


def severity1_keys(pin: str) -> Callable[[Prompt], str | None]:
    """A caller with an outage: the PIN when asked for it, 1 at every severity question."""

    def keys(prompt: Prompt) -> str | None:
        text = prompt.prompt
        if any(ask in text for ask in ("cannot check your support PIN", "Complete outage")):
            return "1"
        if "Enter your PIN" in text:
            return pin
        return None

    return keys


def always_accepts(_prompt: Prompt) -> str:
    return "1"


def _pg_available() -> str | None:
    url = make_url(PG_URL)
    try:
        psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
            connect_timeout=3,
        ).close()  # fmt: skip
    except psycopg.Error as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    problem = _pg_available()
    if problem:
        pytest.skip(f"the fault suite needs PostgreSQL at {PG_URL}: {problem}")
    root = tmp_path_factory.mktemp("faults")
    url = make_url(PG_URL)
    name = f"hotline_faults_{os.getpid()}"
    admin = psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
        autocommit=True,
    )  # fmt: skip
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    direct = url.set(database=name).render_as_string(hide_password=False)
    upgrade(direct)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    through_proxy = url.set(database=name, host="127.0.0.1", port=proxy.port)
    redis_server = EmbeddedRedis(root / "redis").start()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    sim = Simulator(public, TEST_AUTH_TOKEN, TEST_ACCOUNT_SID, max_wall=150, grace=0.3).start()
    transport = FaultyTransport(public)
    sim.attach(transport)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    env.update(
        {
            "HOTLINE_ENV": "test",
            "HOTLINE_DATA_DIR": str(root / "var"),
            "DATABASE_URL": through_proxy.render_as_string(hide_password=False),
            "REDIS_URL": redis_server.url,
            "SECRET_KEY": "faults-secret-key",
            "PIN_PEPPER": "faults-pin-pepper",
            "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_API_BASE_URL": sim.rest_url,
            "PUBLIC_BASE_URL": public,
            "EMERGENCY_NUMBER": "+15005550911",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            **FAST,
        }
    )
    seed_app = create_app({**env, "DATABASE_URL": direct})
    with seed_app.extensions["sessionmaker"]() as session:
        load_routing_text(session, ROUTING, "faults.yaml", datetime.now(UTC))
        session.commit()
    sim.default_engineer.keys = always_accepts
    topo = Topology(root, env, port, proxy, redis_server, sim, transport, seed_app)
    try:
        # The worker first: it starts up while gunicorn's start is waited for.
        topo.start_worker()
        topo.start_gunicorn()
        yield topo
    finally:
        topo.stop()
        sim.close()
        redis_server.stop()
        proxy.stop()
        seed_app.extensions["dialer"].close()
        seed_app.extensions["engine"].dispose()
        seed_app.extensions["redis"].close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def record_result(row: dict[str, Any]) -> None:
    """Keep one fault's row for the table printed at the end of the run (tests/conftest.py)."""
    FAULT_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with FAULT_RESULTS.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
