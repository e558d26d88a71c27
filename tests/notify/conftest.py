"""Fixtures for notification tests: the Twilio REST simulator, a real SMTP server, workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.worker import AppWorker
from kernel.queue import NOTIFY_QUEUE, get_queue, get_redis
from kernel.services import services_of
from models import (
    Account,
    Call,
    CallOutcome,
    Contact,
    Notification,
    NotificationStatus,
    Ticket,
    TicketOutcome,
    utcnow,
)
from notify.relay import relay_once, sweep_once
from simulator import Simulator
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tickets import events
from tickets.calls import record_event

ROOT = Path(__file__).resolve().parents[2]
# Fast retries and sweeps, and a job timeout short enough that a hung job costs seconds.
FAST_ENV = {
    "NOTIFY_MAX_ATTEMPTS": "3",
    "NOTIFY_RETRY_BASE_SECONDS": "0.05",
    "NOTIFY_CLAIM_TIMEOUT": "1",
    "NOTIFY_RELAY_INTERVAL": "0.05",
    "NOTIFY_SWEEP_INTERVAL": "0.2",
    "NOTIFY_SWEEP_GRACE": "0.3",
    "NOTIFY_HTTP_TIMEOUT": "5",
    "NOTIFY_JOB_TIMEOUT": "10",
}
MANAGER_PHONES = "+15550009001,+15550009002"
MANAGER_EMAILS = "boss@example.test"


@dataclass
class SmtpSink:
    """What the SMTP server received, and a switch to answer 451 to the next N messages."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse_next: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, str]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, with the SMTP_URL that reaches it."""
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """The phone simulator; only its Twilio REST API is used here."""
    with Simulator(PUBLIC_BASE_URL, TEST_AUTH_TOKEN, TEST_ACCOUNT_SID) as s:
        yield s


@pytest.fixture
def notify_overrides() -> dict[str, str]:
    """Settings a test changes for its app: parametrize this name to override it."""
    return {}


@pytest.fixture
def notify_config(
    app_config: dict[str, Any],
    sim: Simulator,
    smtp: tuple[SmtpSink, str],
    notify_overrides: dict[str, str],
) -> dict[str, Any]:
    app_config.update(
        TWILIO_API_BASE_URL=sim.rest_url,
        SMTP_URL=smtp[1],
        MANAGER_PHONES=MANAGER_PHONES,
        MANAGER_EMAILS=MANAGER_EMAILS,
        HOTLINE_NUMBER="+15005550006",
    )
    app_config.update(FAST_ENV)
    app_config.update(notify_overrides)
    return app_config


@pytest.fixture
def notify_app(notify_config: dict[str, Any], app: Flask, sim: Simulator) -> Iterator[Flask]:
    """The test app wired to the simulator and SMTP server, with fast retries, in context."""
    # Message status callbacks from the simulator reach this app, signed.
    sim.attach(app, busy=app.extensions["dialer"].busy)
    with app.app_context():
        yield app


def drain(app: Flask, rounds: int = 60, pause: float = 0.06) -> None:
    """Relay and run jobs in this process (the workers' AppWorker) until none is open."""
    queue = get_queue(NOTIFY_QUEUE, app)
    worker_class = AppWorker.bound_to(app)
    for _ in range(rounds):
        sweep_once(services_of(app))
        relay_once(services_of(app))
        worker_class([queue], connection=get_redis(app), serializer="json").work(
            burst=True, logging_level="WARNING"
        )
        if not open_rows(app):
            return
        time.sleep(pause)
    raise AssertionError(f"notifications still open: {open_rows(app)}")


def open_rows(app: Flask) -> list[tuple[int, str]]:
    with app.extensions["sessionmaker"]() as session:
        rows = session.scalars(
            select(Notification).where(
                Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.ENQUEUED))
            )
        ).all()
        return [(row.id, row.status.value) for row in rows]


def notifications(session: Session) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).order_by(Notification.id)))


def make_call(
    session: Session,
    outcome: TicketOutcome | None,
    *,
    caller: str = "+15557770001",
    refusal_reason: str | None = None,
    engineer: tuple[str, str] | None = None,
    account_name: str = "Acme Corp",
    email: str | None = "ops@acme.test",
    sid_suffix: str = "",
) -> Call:
    """A ticket and its ended call, as the call flow leaves them (flushed, not committed)."""
    now = utcnow()
    account = session.scalar(select(Account).where(Account.name == account_name))
    if account is None:
        account = Account(name=account_name)
        account.contacts.append(
            Contact(name="Dana Ops", phone="+15557770001", email=email, is_technical=True)
        )
        session.add(account)
    ticket = Ticket(
        account=account,
        contact_name="Dana Ops",
        contact_phone=caller if caller.startswith("+") else None,
        severity=1,
        subject="Complete outage",
        outcome=outcome,
        refusal_reason=refusal_reason,
    )
    session.add(ticket)
    session.flush()
    call = Call(
        call_sid=f"CA{time.time_ns()}{sid_suffix}",
        ticket=ticket,
        account_id=account.id,
        pin_accepted_at=now,
        from_number=caller,
        to_number="+15550100000",
        status="completed",
        started_at=now,
        ended_at=now,
        duration_seconds=125,
        # Each call carries its own outcome (the ticket's is derived from its calls).
        outcome=CallOutcome(outcome.value) if outcome else None,
        answered_by=engineer[1] if engineer else None,
    )
    session.add(call)
    session.flush()
    if engineer is not None:
        accepted = events.Accepted(engineer=engineer[0], engineer_name=engineer[1], seconds=4)
        record_event(session, call, accepted, now)
        session.flush()
    return call


def worker_env(config: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment for a `hotline worker` subprocess built from a test app's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "TWILIO_"))}
    env.update({k: str(v) for k, v in config.items() if v is not None})
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerProcess:
    """A `python -m hotline worker` child in its own process group, its output read as it comes.

    A reader thread drains the pipe, so a chatty worker can never block on a full pipe.
    """

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        """Wait for the worker to exit by itself; its exit code and output."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            raise AssertionError(f"worker still running after {timeout}s:\n{self.output}") from None
        return code, self._collect()

    def kill_all(self) -> str:
        """SIGKILL the pool, its workers and the relay."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        return self._collect()

    def stop(self) -> str:
        """SIGTERM (warm shutdown) and return the output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self._collect()

    def _collect(self) -> str:
        # Children still holding the pipe (killed above) close it as they die.
        self.reader.join(10)
        return self.output


@pytest.fixture
def start_worker() -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker subprocesses; every one is killed at teardown."""
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], *args: str) -> WorkerProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        worker = WorkerProcess(process)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)
        worker.reader.join(10)
        if worker.process.stdout:
            worker.process.stdout.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


__all__ = ["datetime"]
