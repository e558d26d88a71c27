"""`hotline worker` as real processes: Redis outages and killed workers lose and repeat nothing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from hotline.embedded_redis import EmbeddedRedis
from kernel.config import settings_of
from models import NotificationStatus, TicketOutcome, utcnow
from notify import task_alerts, triggers
from simulator import Simulator
from tests.notify.conftest import WorkerProcess, make_call, notifications, wait_for, worker_env

pytestmark = pytest.mark.slow  # each test starts `hotline worker` processes
DONE = (NotificationStatus.SENT, NotificationStatus.DELIVERED)


def _calls(session: Session, count: int, start: int) -> None:
    for i in range(start, start + count):
        call = make_call(session, TicketOutcome.MESSAGE, caller=f"+1555888{i:04d}", email=None)
        triggers.call_ended(session, call, utcnow())
        session.commit()


def _all_done(session: Session, count: int) -> bool:
    rows = notifications(session)
    return len(rows) == count and all(r.status in DONE for r in rows)


def test_burst_worker_sends_everything_due(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    _calls(session, 5, 0)
    worker = start_worker(worker_env(notify_config), "--burst", "--count", "2")
    code, out = worker.finish()
    assert code == 0, out
    assert _all_done(session, 5), out
    assert len(sim.messages) == 5


def test_redis_stopped_during_calls_loses_nothing_and_sends_once(
    notify_config: dict[str, Any],
    tmp_path: Path,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
    notify_app: Flask,
    session: Session,
) -> None:
    redis_server = EmbeddedRedis(tmp_path / "outage-redis").start()
    try:
        env = worker_env(notify_config, REDIS_URL=redis_server.url)
        start_worker(env)
        _calls(session, 3, 0)
        wait_for(lambda: _all_done(session, 3), 20, "first calls sent")
        redis_server.stop()
        # Calls go on while Redis is down: the rows wait in the database.
        _calls(session, 4, 100)
        time.sleep(1.0)
        assert len(sim.messages) == 3
        redis_server.start()
        wait_for(lambda: _all_done(session, 7), 30, "calls made during the outage sent")
        time.sleep(0.5)
    finally:
        redis_server.stop()
    counts = Counter(m["to"] for m in sim.messages)
    assert len(counts) == 7 and set(counts.values()) == {1}


def test_worker_killed_mid_send_gets_the_sms_out_exactly_once(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    # Twilio accepts the message, then the worker dies before it hears back.
    sim.message_delay = 5.0
    # Receipts go nowhere: under load the dead request's receipt (sent 5 s later) could mark
    # the row delivered before the second worker starts, and nothing would be reconciled.
    sim.attach("http://127.0.0.1:9")
    env = worker_env(notify_config)
    first = start_worker(env)
    _calls(session, 1, 0)
    wait_for(lambda: len(sim.messages) == 1, 20, "the message to reach the API")
    first.kill_all()
    sim.message_delay = 0.0
    (row,) = notifications(session)
    assert row.status == NotificationStatus.ENQUEUED and row.claimed_at is not None
    second = start_worker(env)
    wait_for(lambda: notifications(session)[0].status in DONE, 20, "reconciled")
    second.stop()
    assert len(sim.messages) == 1
    (row,) = notifications(session)
    assert row.provider_id == sim.messages[0]["sid"]
    assert "reconciled" in (row.last_error or "")


def test_console_sender_without_twilio_or_smtp(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    call = make_call(session, TicketOutcome.MESSAGE)
    triggers.call_ended(session, call, utcnow())
    session.commit()
    env = worker_env(notify_config, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", SMTP_URL="")
    env.pop("TWILIO_API_BASE_URL")
    worker = start_worker(env, "--burst")
    code, out = worker.finish()
    assert code == 0, out
    assert "SMS to +15557770001:" in out and call.ticket.number in out
    assert "Email to ops@acme.test" in out
    assert sim.messages == []
    rows = notifications(session)
    assert all(r.status == NotificationStatus.SENT and r.body for r in rows)


def test_a_dead_workers_claim_is_picked_up_in_seconds_not_after_the_claim_timeout(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    # The claim timeout is the production 120 s: only the heartbeat can free the row in time
    # (beats every 0.75 s here, so the worker is dead after 3 s instead of production's 8 s).
    sim.message_delay = 5.0
    sim.attach("http://127.0.0.1:9")
    env = worker_env(
        notify_config,
        NOTIFY_CLAIM_TIMEOUT="120",
        NOTIFY_SWEEP_INTERVAL="1",
        NOTIFY_HEARTBEAT_SECONDS="0.75",
    )
    first = start_worker(env)
    _calls(session, 1, 0)
    wait_for(lambda: len(sim.messages) == 1, 20, "the message to reach the API")
    first.kill_all()
    killed_at = time.monotonic()
    sim.message_delay = 0.0
    second = start_worker(env)
    wait_for(lambda: notifications(session)[0].status in DONE, 15, "picked up after the kill")
    assert time.monotonic() - killed_at < 10
    second.stop()
    assert len(sim.messages) == 1


ONCALL = "+15550001111"


def _kind_rows(session: Session, kind: str) -> list[Any]:
    return [row for row in notifications(session) if row.kind == kind]


@pytest.mark.slow
def test_workers_killed_and_restarted_around_a_reminder_send_it_once(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    """A callback task's reminder comes due across SIGKILLed workers: one escalation text."""
    settings = replace(settings_of(notify_app), oncall_number=ONCALL)
    call = make_call(session, TicketOutcome.MESSAGE)
    task = task_alerts.callback_promised(session, call, "nobody accepted", utcnow(), settings)
    assert task is not None
    # Not due while the first worker lives, however long it takes to start on a loaded machine:
    # the reminder is brought forward only once that worker is dead.
    task.remind_at = task.next_timer_at = utcnow() + timedelta(hours=1)
    session.commit()
    # A short grace, so a job whose worker died before claiming its row is looked at soon.
    env = worker_env(notify_config, ONCALL_NUMBER=ONCALL, NOTIFY_SWEEP_GRACE="2")

    first = start_worker(env)
    # Generous waits: worker start-up is slow on a loaded 2-core machine; a pass is quick.
    wait_for(lambda: len(sim.messages) >= 1, 60, "the engineer's first text")
    first.kill_all()  # killed before the reminder is due
    assert [m["to"] for m in sim.messages] == [ONCALL]
    assert not _kind_rows(session, "task_escalated")
    task.remind_at = task.next_timer_at = utcnow()
    session.commit()
    second = start_worker(env)
    wait_for(lambda: bool(_kind_rows(session, "task_escalated")), 60, "the reminder's row")
    second.kill_all()  # killed as the reminder fires, perhaps mid-send
    third = start_worker(env)
    wait_for(
        lambda: all(r.status in DONE for r in _kind_rows(session, "task_escalated")),
        60,
        "the reminder sent",
    )
    time.sleep(1.5)  # time for a wrongly repeated timer to show itself
    third.stop()
    escalations = [m for m in sim.messages if "ESCALATED" in m["body"]]
    assert len(escalations) == 1
    assert escalations[0]["to"] == ONCALL
    assert len(_kind_rows(session, "task_escalated")) == 1


def test_an_idle_worker_wakes_for_a_call_that_ends_long_after_it_went_quiet(
    notify_config: dict[str, Any],
    notify_app: Flask,
    session: Session,
    sim: Simulator,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    """The relay sleeps until the database has news (no polling): a new row still goes out."""
    worker = start_worker(worker_env(notify_config))
    _calls(session, 1, 0)
    wait_for(lambda: len(sim.messages) == 1, 60, "the first text")
    time.sleep(3)  # idle: the relay is asleep on its wake-up, past several old poll intervals
    _calls(session, 1, 1)
    wait_for(lambda: len(sim.messages) == 2, 30, "the text of the call that ended later")
    worker.stop()
    assert _all_done(session, 2)
