"""The outbox page, and notifications and delivery events on the ticket page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

from sqlalchemy.orm import Session

from models import Notification, NotificationChannel, NotificationStatus, Ticket
from models.ringing import AttemptStatus
from tests.dashboard.conftest import T0, Browser
from tickets import events
from tickets.calls import record_ticket_event


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def add_note(session: Session, minutes: int, **fields: Any) -> Notification:
    values: dict[str, Any] = {
        "kind": "call_ended",
        "channel": NotificationChannel.SMS,
        "recipient": "+15551234567",
        "payload": {"ticket": "HL-1", "outcome": "message", "callback_minutes": 30},
        "status": NotificationStatus.SENT,
        "created_at": T0 + timedelta(minutes=minutes),
        **fields,
    }
    row = Notification(**values)
    session.add(row)
    return row


def test_outbox_shows_text_state_and_dead_ones_highlighted(
    as_manager: Browser, session: Session, call_ticket: Ticket
) -> None:
    add_note(
        session,
        5,
        ticket_id=call_ticket.id,
        kind="nobody_accepted",
        recipient="role:managers",
        status=NotificationStatus.DEAD,
        attempts=5,
        last_error="TwilioError: 21211 invalid 'To' number",
        body="Sev-1 hotline ALERT: nobody accepted severity-1 call",
    )
    # Not yet rendered by a worker: the page previews it from the payload.
    add_note(session, 6, status=NotificationStatus.PENDING, body=None)
    session.commit()
    html = as_manager.get("/dashboard/outbox").data.decode()
    page = text_of(html)
    rows = page.split("Last error")[1]
    # Newest first: the pending preview, then the dead alert, then the ticket's delivered SMS.
    assert rows.index("pending") < rows.index("dead") < rows.index("delivered")
    assert "preview · not sent yet" in page
    assert "an engineer will call you back within 30 minutes" in page
    assert "TwilioError: 21211 invalid 'To' number" in page
    assert "Sev-1 hotline ALERT: nobody accepted severity-1 call" in page
    assert call_ticket.number in page
    assert re.search(r'<tbody class="note note-dead"', html)


def test_outbox_filters_by_status(
    as_manager: Browser, session: Session, call_ticket: Ticket
) -> None:
    add_note(session, 5, status=NotificationStatus.DEAD, last_error="boom", body="dead one")
    add_note(session, 6, status=NotificationStatus.SENT, body="sent one")
    session.commit()
    page = text_of(as_manager.get("/dashboard/outbox?status=dead").data.decode())
    assert "1 notification dead" in page
    assert "dead one" in page and "sent one" not in page
    # The call itself left SMS to the engineer and the caller (delivered), an email (sent).
    assert "Dead 1" in page and "Sent 2" in page and "Delivered 2" in page
    # An unknown status shows everything rather than failing.
    assert "5 notifications" in text_of(as_manager.get("/dashboard/outbox?status=x").data.decode())
    empty = text_of(as_manager.get("/dashboard/outbox?status=failed").data.decode())
    assert "No notifications failed." in empty


def test_outbox_pages_newest_first(as_manager: Browser, session: Session) -> None:
    for i in range(30):
        add_note(session, i, body=f"message number {i:02d}")
    session.commit()
    first = text_of(as_manager.get("/dashboard/outbox").data.decode())
    assert "Page 1 of 2" in first
    assert "message number 29" in first and "message number 05" in first
    assert "message number 04" not in first
    second = text_of(as_manager.get("/dashboard/outbox?page=2").data.decode())
    assert "message number 04" in second and "message number 00" in second
    assert "message number 05" not in second
    beyond = text_of(as_manager.get("/dashboard/outbox?page=999").data.decode())
    assert "Page 2 of 2" in beyond and "message number 00" in beyond
    assert as_manager.get("/dashboard/outbox?page=abc").status_code == 200


def event(session: Session, ticket: Ticket, offset: int, payload: events.Payload) -> None:
    """An event as its writer in the call flow or the worker records it."""
    record_ticket_event(session, ticket.id, payload, T0 + timedelta(seconds=offset))


def test_ticket_timeline_reads_ring_results_and_delivery_failures(
    as_engineer: Browser, session: Session, call_ticket: Ticket
) -> None:
    sam = "+15005550102"
    for offset, result in enumerate(
        ["passed", "no_answer", "busy", "failed", "voicemail", "cancelled"]
    ):
        rung = events.RingAttempt(
            engineer=sam,
            engineer_name="Sam Okafor",
            number=sam,
            result=AttemptStatus(result).value,
            step=1,
            started=T0.isoformat(),
            ended=T0.isoformat(),
            seconds=7,
        )
        event(session, call_ticket, 40 + offset, rung)
    event(session, call_ticket, 50, events.Accepted(sam, "Sam Okafor", 7))
    event(session, call_ticket, 60, events.NobodyAccepted(tried=[sam]))
    event(session, call_ticket, 61, events.CallbackTask(reason="nobody accepted the call"))
    dead = events.NotificationDead(
        notification_id=1,
        notification_kind="call_ended",
        channel="sms",
        recipient="+15551234567",
        attempts=5,
        error="TwilioError: 21610 unsubscribed recipient",
    )
    event(session, call_ticket, 70, dead)
    add_note(
        session,
        2,
        ticket_id=call_ticket.id,
        status=NotificationStatus.DEAD,
        attempts=5,
        last_error="TwilioError: 21610 unsubscribed recipient",
        body="Sev-1 Hotline: your ticket is HL-1.",
    )
    session.commit()
    html = as_engineer.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    page = text_of(html)
    for line in (
        "Engineer rung — Sam Okafor: passed after 7 s",
        "Engineer rung — Sam Okafor: no answer after 7 s",
        "Engineer rung — Sam Okafor: busy after 7 s",
        "Engineer rung — Sam Okafor: call failed after 7 s",
        "Engineer rung — Sam Okafor: voicemail, hung up after 7 s",
        "Engineer rung — Sam Okafor: cancelled, someone else took it after 7 s",
        "Engineer accepted — Sam Okafor",
        "Nobody accepted — every engineer rung missed or passed the call",
        "Callback needed — call the customer back: nobody accepted the call",
        "Notification never delivered — SMS to +15551234567 (call_ended) gave up after 5 "
        "attempts: TwilioError: 21610 unsubscribed recipient",
    ):
        assert line in page, line
    assert re.search(r'<li class="tl-bad" data-kind="notification_dead"', html)
    # The ring table names the engineer and the number rung.
    assert "Sam Okafor +15005550102" in page.split("Ring attempts")[1]
    # The ticket's notifications: the delivered SMS and the dead one, with its text.
    notes = page.split("Notifications")[1].split("Conversation")[0]
    assert "delivered" in notes
    assert "dead never delivered 5" in notes
    assert "Message as sent Sev-1 Hotline: your ticket is HL-1." in notes
