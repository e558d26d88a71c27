"""Notifications go out in batch jobs: each row of a batch is still sent exactly once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from kernel.queue import get_queue
from kernel.services import services_of
from models import NotificationChannel, NotificationStatus, utcnow
from notify.jobs import deliver_batch
from notify.outbox import add_notification
from notify.relay import relay_once
from simulator import Simulator
from simulator.openapi import ApiError
from tests.notify.conftest import drain, notifications

DONE = (NotificationStatus.SENT, NotificationStatus.DELIVERED)


def _queue_texts(session: Session, count: int) -> list[str]:
    """`count` SMS to distinct numbers, committed; their numbers."""
    numbers = [f"+1555321{i:04d}" for i in range(count)]
    for i, number in enumerate(numbers):
        add_notification(
            session, kind="pin_failure_burst", channel=NotificationChannel.SMS,
            recipient=number, payload={"failures": i, "callers": 1, "window_minutes": 10},
            now=utcnow(), dedupe_key=f"batch-test-{i}",
        )  # fmt: skip
    session.commit()
    return numbers


@pytest.mark.parametrize("notify_overrides", [{"NOTIFY_JOB_BATCH": "4"}])
def test_the_relay_queues_due_rows_in_jobs_of_the_batch_size(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    numbers = _queue_texts(session, 10)
    assert relay_once(services_of(notify_app)) == 10
    jobs = get_queue(app=notify_app).get_jobs()
    assert sorted(len(job.args[0]) for job in jobs) == [2, 4, 4]
    rows = {row.id: row for row in notifications(session)}
    for job in jobs:
        # Every row names the job that carries it: the sweeper and the claim check that.
        assert {rows[row_id].job_id for row_id in job.args[0]} == {job.id}
    drain(notify_app)
    assert sorted(m["to"] for m in sim.messages) == numbers
    assert all(row.status in DONE and row.attempts == 1 for row in notifications(session))


def test_one_failing_row_does_not_hold_back_or_repeat_the_rest_of_its_batch(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.message_errors = [ApiError(503, 20503, "Service Unavailable")]
    numbers = _queue_texts(session, 6)
    drain(notify_app)
    assert Counter(m["to"] for m in sim.messages) == Counter(numbers)
    rows = notifications(session)
    assert all(row.status in DONE for row in rows)
    assert sorted(row.attempts for row in rows) == [1, 1, 1, 1, 1, 2]


def test_two_runs_of_the_same_batch_at_once_send_each_row_once(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    # A job handed out twice (a worker wrongly thought dead): both runs race for the same rows.
    numbers = _queue_texts(session, 8)
    relay_once(services_of(notify_app))
    rows = notifications(session)
    job_id = rows[0].job_id
    ids = [row.id for row in rows]
    services = services_of(notify_app)
    outcomes: list[dict[int, str]] = []

    def run() -> None:
        with services.sessions() as own:
            outcomes.append(deliver_batch(services, own, ids, job_id, utcnow()))

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(60)
    assert len(outcomes) == 2
    assert Counter(m["to"] for m in sim.messages) == Counter(numbers)
    sent = [i for outcome in outcomes for i, text in outcome.items() if text.startswith("sent")]
    assert sorted(sent) == sorted(ids)
    rows = notifications(session)
    assert all(row.status in DONE and row.attempts == 1 for row in rows), [
        (row.id, row.status, row.attempts) for row in rows
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "notify_overrides",
    [{"NOTIFY_JOB_TIMEOUT": "1", "NOTIFY_HTTP_TIMEOUT": "30", "NOTIFY_SEND_CONCURRENCY": "1"}],
)
def test_a_batch_cut_off_by_the_job_timeout_sends_every_row_once(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    # The first send hangs past the job timeout: the rows never started go back to the relay
    # at once, the one in flight stays claimed and its retry finds it at the provider.
    sim.attach("http://127.0.0.1:9")
    sim.message_delay = 3.0
    numbers = _queue_texts(session, 3)
    relay_once(services_of(notify_app))
    released = threading.Event()

    def fast_again() -> None:
        # Only the first send hangs; the retries answer at once.
        while not sim.messages:
            released.wait(0.01)
        sim.message_delay = 0.0

    threading.Thread(target=fast_again, daemon=True).start()
    drain(notify_app)
    assert Counter(m["to"] for m in sim.messages) == Counter(numbers)
    rows = notifications(session)
    assert all(row.status in DONE for row in rows)
    reconciled = [row for row in rows if "reconciled" in (row.last_error or "")]
    assert len(reconciled) == 1 and reconciled[0].attempts == 2
    assert reconciled[0].provider_id == sim.messages[0]["sid"]
    # The two that never started were handed back unclaimed: their one attempt sent them.
    assert sorted(row.attempts for row in rows if row not in reconciled) == [1, 1]


def test_a_row_whose_text_cannot_be_rendered_is_dead_and_its_batch_goes_out(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    numbers = _queue_texts(session, 3)
    add_notification(
        session, kind="no_such_message", channel=NotificationChannel.SMS, recipient="+15553339999",
        payload={}, now=utcnow(), dedupe_key="batch-test-broken",
    )  # fmt: skip
    session.commit()
    drain(notify_app)
    assert sorted(m["to"] for m in sim.messages) == numbers
    (broken,) = [row for row in notifications(session) if row.kind == "no_such_message"]
    assert broken.status == NotificationStatus.DEAD
    assert "cannot render no_such_message" in (broken.last_error or "")
