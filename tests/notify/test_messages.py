"""Each follow-up goes out with the right content, through Twilio's API and SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from dashboard.timeline import build_timeline
from entitlement.alerts import PIN_FAILURE_BURST, PRIVILEGED_PIN_USED, alert_managers
from kernel.services import services_of
from models import NotificationStatus, TaskKind, TicketOutcome, utcnow
from notify import triggers
from notify.relay import relay_once
from simulator import Simulator
from tests.notify.conftest import SmtpSink, drain, make_call, notifications
from tickets import tasks

CALLER = "+15557770001"


def sms_to(sim: Simulator, number: str) -> list[str]:
    return [m["body"] for m in sim.messages if m["to"] == number]


def test_caller_sms_and_contact_email_for_each_outcome(
    notify_app: Flask, session: Session, sim: Simulator, smtp: tuple[SmtpSink, str]
) -> None:
    now = utcnow()
    calls = {
        "connected": make_call(
            session, TicketOutcome.CONNECTED, caller="+15557770001",
            engineer=("+15550000001", "Erin Engineer"),
        ),
        "message": make_call(session, TicketOutcome.MESSAGE, caller="+15557770002"),
        "refused": make_call(
            session, TicketOutcome.REFUSED, caller="+15557770003",
            refusal_reason="the account has no current support licence",
        ),
        "abandoned": make_call(session, TicketOutcome.ABANDONED, caller="+15557770004"),
        "message without a task": make_call(
            session, TicketOutcome.MESSAGE, caller="+15557770005"
        ),
    }  # fmt: skip
    # The message's callback has its task; the other message's promise has none to keep it.
    message = calls["message"]
    tasks.open_task(
        session, message.ticket, message, TaskKind.CALLBACK, "call back within 30 minutes",
        "+15557770002", timedelta(minutes=30), timedelta(minutes=10), now,
    )  # fmt: skip
    for call in calls.values():
        assert triggers.call_ended(session, call, now) == 2
    session.commit()
    drain(notify_app)

    connected = sms_to(sim, "+15557770001")
    assert len(connected) == 1
    assert calls["connected"].ticket.number in connected[0]
    assert "Erin Engineer" in connected[0]
    message = sms_to(sim, "+15557770002")[0]
    assert calls["message"].ticket.number in message and "call you back within 30" in message
    refused = sms_to(sim, "+15557770003")[0]
    assert "no current support licence" in refused and "/portal/" in refused
    unpromised = sms_to(sim, "+15557770005")[0]
    assert "We have your message" in unpromised and "call you back" not in unpromised
    abandoned = sms_to(sim, "+15557770004")[0]
    assert calls["abandoned"].ticket.number in abandoned and "call us back" in abandoned
    # Every SMS asks for receipts at an absolute URL, from the hotline's number, short-lived.
    creates = [r for r in sim.rest.requests if r["method"] == "POST"]
    assert all(
        r["form"]["StatusCallback"][0].startswith("https://hotline.example.test/notify/status?n=")
        and r["form"]["From"] == ["+15005550006"]
        and r["form"]["ValidityPeriod"] == ["900"]
        for r in creates
    )

    sink = smtp[0]
    assert len(sink.messages) == len(calls)
    subjects = sorted(m["Subject"] for m in sink.messages)
    assert all(s.startswith("[HL-") for s in subjects)
    connected_mail = next(
        m for m in sink.messages if calls["connected"].ticket.number in m["Subject"]
    )
    assert connected_mail["To"] == "ops@acme.test"
    text = connected_mail.get_payload()
    assert "Erin Engineer" in text and "Dana Ops" in text and "2 min 5 s" in text
    assert connected_mail["Message-ID"].startswith("<notify-")
    assert all(n.status.value in ("sent", "delivered") for n in notifications(session))


def test_withheld_caller_gets_no_sms_and_repeat_callbacks_queue_once(
    notify_app: Flask, session: Session
) -> None:
    now = utcnow()
    withheld = make_call(session, TicketOutcome.MESSAGE, caller="anonymous")
    assert triggers.call_ended(session, withheld, now) == 1  # the email only
    call = make_call(session, TicketOutcome.MESSAGE, caller=CALLER)
    assert triggers.call_ended(session, call, now) == 2
    session.commit()
    # A repeated status callback runs the trigger again: nothing new is queued.
    assert triggers.call_ended(session, call, now) == 0
    session.commit()
    assert len(notifications(session)) == 3


def test_engineer_sms_has_company_contact_callback_ticket_and_link(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    call = make_call(session, None, caller="+15557770009")
    assert triggers.engineer_accepted(session, call, "+15550000001", "Erin Engineer", utcnow())
    session.commit()
    drain(notify_app)
    (body,) = sms_to(sim, "+15550000001")
    ticket = call.ticket
    assert "Acme Corp" in body and "Dana Ops" in body and "+15557770009" in body
    assert ticket.number in body
    assert f"https://hotline.example.test/dashboard/tickets/{ticket.id}" in body


def test_nobody_accepted_alerts_managers_and_on_call_engineers(
    notify_app: Flask, session: Session, sim: Simulator, smtp: tuple[SmtpSink, str]
) -> None:
    call = make_call(session, TicketOutcome.MESSAGE)
    added = triggers.nobody_accepted(
        session, call, utcnow(), engineer_phones=["+15550000001", "+15550000002"]
    )
    assert added == 4
    session.commit()
    drain(notify_app)
    for number in ("+15550009001", "+15550009002", "+15550000001", "+15550000002"):
        (body,) = sms_to(sim, number)
        assert "nobody accepted" in body and call.ticket.number in body
    (mail,) = smtp[0].messages
    assert mail["To"] == "boss@example.test" and "nobody accepted" in mail["Subject"]


@pytest.mark.parametrize("notify_overrides", [{"MANAGER_PHONES": "", "MANAGER_EMAILS": ""}])
def test_an_alert_with_no_manager_configured_says_on_the_ticket_that_it_reached_nobody(
    notify_app: Flask, session: Session, sim: Simulator, smtp: tuple[SmtpSink, str]
) -> None:
    call = make_call(session, TicketOutcome.MESSAGE)
    triggers.nobody_accepted(session, call, utcnow(), engineer_phones=["+15550000001"])
    session.commit()
    drain(notify_app)
    rows = {(n.channel.value, n.recipient): n for n in notifications(session)}
    assert rows["sms", "role:managers"].status is NotificationStatus.NO_RECIPIENT
    assert rows["email", "role:managers"].status is NotificationStatus.NO_RECIPIENT
    # The engineer is still texted.
    assert rows["sms", "+15550000001"].status in (
        NotificationStatus.SENT,
        NotificationStatus.DELIVERED,
    )
    assert smtp[0].messages == []
    session.expire_all()
    timeline = build_timeline(call.ticket)
    unsent = [e for e in timeline.entries if e.kind == "alert_reached_nobody"]
    assert sorted(e.summary for e in unsent) == [
        "EMAIL nobody accepted sent to nobody: MANAGER_EMAILS is not set",
        "SMS nobody accepted sent to nobody: MANAGER_PHONES is not set",
    ]


def test_pin_alerts_written_by_entitlement_reach_managers(
    notify_app: Flask, session: Session, sim: Simulator, smtp: tuple[SmtpSink, str]
) -> None:
    now = utcnow()
    alert_managers(
        session,
        PRIVILEGED_PIN_USED,
        {
            "account": "Acme Corp",
            "caller_number": "+15557770001",
            "used_at": now.isoformat(),
            "elevated_until": None,
            "call_sid": "CA1",
        },
        now,
        "privileged:1",
    )
    alert_managers(
        session, PIN_FAILURE_BURST,
        {"failures": 31, "callers": 7, "window_minutes": 10, "since": "a", "until": "b"},
        now, "burst:1",
    )  # fmt: skip
    session.commit()
    drain(notify_app)
    bodies = sms_to(sim, "+15550009001")
    assert any("privileged PIN of Acme Corp" in b for b in bodies)
    assert any("31 failed PIN entries from 7 callers in 10 minutes" in b for b in bodies)
    assert sorted(m["Subject"] for m in smtp[0].messages) == [
        "PIN failure burst: 31 failures in 10 minutes",
        "Privileged PIN used: Acme Corp",
    ]
    parents = [n for n in notifications(session) if n.recipient == "role:managers"]
    assert all(n.status == NotificationStatus.SENT for n in parents)


def test_two_relays_enqueue_each_row_once(notify_app: Flask, session: Session) -> None:
    call = make_call(session, TicketOutcome.MESSAGE)
    triggers.call_ended(session, call, utcnow())
    session.commit()
    assert relay_once(services_of(notify_app)) == 2
    assert relay_once(services_of(notify_app)) == 0
    from kernel.queue import get_queue

    # The call's two rows go out as one batch job: each row in exactly one job.
    jobs = get_queue(app=notify_app).get_jobs()
    queued = sorted(row_id for job in jobs for row_id in job.args[0])
    assert queued == sorted(n.id for n in notifications(session))
    assert len(jobs) == 1
