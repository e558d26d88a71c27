"""Provider failures retry with backoff, then the notification is dead and on its ticket."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import settings_of
from models import CallEvent, NotificationChannel, NotificationStatus, TicketOutcome, utcnow
from notify import triggers
from notify.outbox import add_notification
from notify.senders import TwilioSms, sms_sender
from simulator import Simulator
from simulator.openapi import ApiError
from tests.notify.conftest import FAST_ENV, SmtpSink, drain, make_call, notifications

MAX_ATTEMPTS = int(FAST_ENV["NOTIFY_MAX_ATTEMPTS"])


def _sms_only(session: Session) -> int:
    call = make_call(session, TicketOutcome.MESSAGE, email=None)
    assert triggers.call_ended(session, call, utcnow()) == 1
    session.commit()
    return call.ticket.id


def test_twilio_5xx_retries_then_dead_on_the_ticket(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.message_errors = [ApiError(500, 20500, "Internal Server Error")] * MAX_ATTEMPTS
    ticket_id = _sms_only(session)
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.DEAD
    assert row.attempts == MAX_ATTEMPTS and "500" in (row.last_error or "")
    assert sim.messages == []
    events = session.scalars(select(CallEvent).where(CallEvent.kind == "notification_dead")).all()
    assert [e.ticket_id for e in events] == [ticket_id]
    assert events[0].detail["notification_id"] == row.id


def test_twilio_5xx_then_success_sends_once(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.message_errors = [ApiError(503, 20503, "Service Unavailable")]
    _sms_only(session)
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status in (NotificationStatus.SENT, NotificationStatus.DELIVERED)
    assert row.attempts == 2 and len(sim.messages) == 1


def test_twilio_4xx_is_dead_at_once(notify_app: Flask, session: Session, sim: Simulator) -> None:
    sim.message_errors = [ApiError(400, 21211, "The 'To' number is not a valid phone number.")]
    _sms_only(session)
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.DEAD and row.attempts == 1
    assert "21211" in (row.last_error or "")


def test_opted_out_recipient_is_dead_at_once(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.message_errors = [ApiError(400, 21610, "Attempt to send to unsubscribed recipient")]
    _sms_only(session)
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.DEAD and "opted out" in (row.last_error or "")


def test_smtp_temporary_failure_retries_then_sends(
    notify_app: Flask, session: Session, smtp: tuple[SmtpSink, str]
) -> None:
    smtp[0].refuse_next = 1
    add_notification(
        session, kind="nobody_accepted", channel=NotificationChannel.EMAIL,
        recipient="boss@example.test", payload={"ticket": "HL-000001"}, now=utcnow(),
        dedupe_key="mail-1",
    )  # fmt: skip
    session.commit()
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert len(smtp[0].messages) == 1


# Nothing listens on port 9 (discard): the SMTP server is down.
@pytest.mark.parametrize(
    "notify_overrides", [{"SMTP_URL": "smtp://127.0.0.1:9", "NOTIFY_MAX_ATTEMPTS": "2"}]
)
def test_smtp_down_retries_then_dead(notify_app: Flask, session: Session) -> None:
    call = make_call(session, TicketOutcome.MESSAGE, caller="anonymous")
    assert triggers.call_ended(session, call, utcnow()) == 1
    session.commit()
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.DEAD and row.attempts == 2
    assert "Connection" in (row.last_error or "") or "refused" in (row.last_error or "")


@pytest.mark.slow
@pytest.mark.parametrize(
    "notify_overrides", [{"NOTIFY_JOB_TIMEOUT": "1", "NOTIFY_HTTP_TIMEOUT": "30"}]
)
def test_hung_twilio_call_is_cut_off_by_the_job_timeout_and_reconciled_once(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    # Jobs run inside the worker process (no horse per job): RQ's death penalty must still
    # stop a send that hangs, and the retry must find the message Twilio already accepted.
    # The hung request answers after this test ends: its receipt must not reach a torn-down app.
    sim.attach("http://127.0.0.1:9")
    sim.message_delay = 3.0
    _sms_only(session)
    drain(notify_app)
    sim.message_delay = 0.0
    (row,) = notifications(session)
    assert row.status in (NotificationStatus.SENT, NotificationStatus.DELIVERED)
    assert row.attempts == 2 and len(sim.messages) == 1
    assert row.provider_id == sim.messages[0]["sid"]
    assert "reconciled" in (row.last_error or "")


def test_twilio_client_is_built_once_per_process(notify_app: Flask) -> None:
    settings = settings_of(notify_app)
    first = sms_sender(settings, settings.notify)
    assert isinstance(first, TwilioSms)
    assert sms_sender(settings, settings.notify) is first
