"""Outbox writers the call flow calls in the same transaction as the event behind them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.phones import caller_e164
from kernel.services import current_settings
from models import Call, CallEvent, CallOutcome, Notification, NotificationChannel, Task, Ticket
from notify import caller_sms
from notify.humantime import human_datetime, zone
from notify.outbox import MANAGERS, add_notification
from tickets import events
from tickets.calls import has_event, record_event
from tickets.events import EventKind
from tickets.severity import duration_words, target_minutes

# What the caller is told to expect after leaving a message.
CALLBACK_MINUTES = 30
OUTCOME_TEXT = {
    CallOutcome.CONNECTED: "connected to an engineer",
    CallOutcome.MISSED: "no engineer accepted; message taken",
    CallOutcome.ABANDONED_RINGING: "hung up while engineers were rung",
    CallOutcome.MESSAGE: "message left",
    CallOutcome.REFUSED: "not taken",
    CallOutcome.TRANSFERRED: "transferred to account management",
    CallOutcome.ABANDONED: "ended before we could help",
}


def call_ended(
    session: Session, call: Call, now: datetime, settings: Settings | None = None
) -> int:
    """Queue the caller's SMS and the technical contact's email for an ended call; rows added."""
    settings = settings or _settings()
    ticket = call.ticket
    context = _ticket_context(session, ticket, call, settings)
    added = int(_caller_sms(session, call, context, now, settings))
    contact = ticket.account.technical_contact() if ticket.account else None
    if contact is not None and contact.email:
        added += add_notification(
            session,
            kind="call_summary",
            channel=NotificationChannel.EMAIL,
            recipient=contact.email,
            payload={**context, "contact_name": contact.name},
            now=now,
            dedupe_key=f"call-ended-email-{call.id}",
            ticket_id=ticket.id,
        )
    return added


def engineer_accepted(
    session: Session,
    call: Call,
    engineer_phone: str,
    engineer_name: str,
    now: datetime,
    settings: Settings | None = None,
) -> bool:
    """Queue the details SMS to the engineer who accepted `call`."""
    settings = settings or _settings()
    context = _ticket_context(session, call.ticket, call, settings)
    return add_notification(
        session,
        kind="engineer_accepted",
        channel=NotificationChannel.SMS,
        recipient=engineer_phone,
        payload={**context, "engineer_name": engineer_name},
        now=now,
        dedupe_key=f"engineer-accepted-{call.id}",
        ticket_id=call.ticket.id,
    )


def nobody_accepted(
    session: Session,
    call: Call,
    now: datetime,
    engineer_phones: Iterable[str] = (),
    settings: Settings | None = None,
) -> int:
    """Queue the managers' SMS and email, and an SMS to each on-call engineer; rows added."""
    settings = settings or _settings()
    context = {
        **_ticket_context(session, call.ticket, call, settings),
        "at": now.isoformat(),
        # Managers read the hotline's own clock.
        "at_text": human_datetime(now, zone(settings.hotline_timezone)),
    }
    targets: list[tuple[NotificationChannel, str, str]] = [
        (NotificationChannel.SMS, MANAGERS, "sms"),
        (NotificationChannel.EMAIL, MANAGERS, "email"),
    ]
    targets += [(NotificationChannel.SMS, phone, phone) for phone in dict.fromkeys(engineer_phones)]
    return sum(
        add_notification(
            session,
            kind="nobody_accepted",
            channel=channel,
            recipient=recipient,
            payload=context,
            now=now,
            dedupe_key=f"nobody-accepted-{call.id}-{suffix}",
            ticket_id=call.ticket.id,
        )
        for channel, recipient, suffix in targets
    )


def textable(number: str | None) -> bool:
    """True when `number` is a caller ID an SMS could go to (shown and a possible number)."""
    return caller_e164(number) is not None


def _caller_sms(
    session: Session, call: Call, context: dict[str, Any], now: datetime, settings: Settings
) -> bool:
    """Queue the caller's SMS when it is owed; otherwise record on the ticket why not."""
    dedupe_key = f"call-ended-sms-{call.id}"
    number = caller_sms.recipient(session, call, settings)
    if isinstance(number, caller_sms.Withheld):
        _record_withheld(session, call, number, now)
        return False
    # A repeated status callback must not count against the caps a second time.
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return False
    over_cap = caller_sms.take_cap(session, number, now, settings)
    if over_cap is not None:
        _record_withheld(session, call, over_cap, now)
        return False
    return add_notification(
        session,
        kind="call_ended",
        channel=NotificationChannel.SMS,
        recipient=number,
        payload=context,
        now=now,
        dedupe_key=dedupe_key,
        ticket_id=call.ticket.id,
    )


def _record_withheld(
    session: Session, call: Call, reason: caller_sms.Withheld, now: datetime
) -> None:
    # Once per call, however often the status callback repeats.
    session.flush()
    if not has_event(session, call, EventKind.SMS_WITHHELD):
        record_event(session, call, events.SmsWithheld(reason=reason.value), now)


def _ticket_context(
    session: Session, ticket: Ticket, call: Call, settings: Settings
) -> dict[str, Any]:
    """What the templates say about one call: its own outcome, engineer and number.

    Several calls can share a ticket; each caller is told what happened on their own call,
    and alerts give the number of the caller they are about.
    """
    accepted = _accepted_event(session, call)
    outcome = call.outcome or CallOutcome.ABANDONED
    where = zone(ticket.account.timezone if ticket.account else None, settings.hotline_timezone)
    duration = call.duration_seconds
    caller = call.from_number if textable(call.from_number) else None
    # A severity 2-4 message is answered within its target; every other promise is 30 minutes.
    callback_minutes = (
        target_minutes(dict(settings.severity_target_minutes), ticket.severity)
        if ticket.severity and ticket.severity > 1
        else CALLBACK_MINUTES
    )
    return {
        "ticket": ticket.number,
        "ticket_id": ticket.id,
        "ticket_url": f"{settings.public_base_url}/dashboard/tickets/{ticket.id}",
        "account": ticket.account.name if ticket.account else None,
        "contact_name": ticket.contact_name,
        "callback_number": caller or ticket.contact_phone,
        "caller": caller,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "outcome": outcome.value,
        "outcome_text": OUTCOME_TEXT.get(outcome, outcome.value),
        "refusal_reason": ticket.refusal_reason,
        "engineer_name": (accepted.engineer_name if accepted else None) or call.answered_by,
        "engineer": accepted.engineer if accepted else None,
        "callback_minutes": callback_minutes,
        "respond_within": duration_words(callback_minutes),
        "contact_point": settings.account_management_number or settings.customer_portal_url,
        # A promise is repeated in writing only where a task exists to keep it.
        "callback_task": session.scalar(select(Task.id).where(Task.call_id == call.id).limit(1))
        is not None,
        "started_at": call.started_at.isoformat() if call.started_at else None,
        # People read the account's own wall clock, never an ISO string.
        "started_at_text": human_datetime(call.started_at, where) if call.started_at else None,
        "duration": f"{duration // 60} min {duration % 60} s" if duration is not None else "-",
    }


def _accepted_event(session: Session, call: Call) -> events.Accepted | None:
    # This call's own acceptance: another call on the ticket may have reached someone else.
    row = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_id == call.id, CallEvent.kind == EventKind.ACCEPTED.value)
        .order_by(CallEvent.at.desc(), CallEvent.id.desc())
        .limit(1)
    ).first()
    return None if row is None else events.payload_of(row, events.Accepted)


def _settings() -> Settings:
    return current_settings()
