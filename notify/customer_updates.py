"""The customer hears back: an email to the technical contact and an SMS to the caller (where
texts are owed) when their ticket is solved or waits on them, with dates on their own clock.

Both are in the language of the ticket's latest call (the number the customer called, or the
language they chose at its greeting): the customer is answered in the language they used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Settings
from models import Call, NotificationChannel, Ticket, TicketStatus
from models.users import TicketStatusChange
from notify import caller_sms
from notify.humantime import human_datetime, zone
from notify.outbox import add_notification
from notify.triggers import customer_zone

KINDS = {TicketStatus.SOLVED: "ticket_solved", TicketStatus.PENDING: "ticket_pending"}


def status_changed(
    session: Session,
    ticket: Ticket,
    change: TicketStatusChange,
    settings: Settings,
    question: str = "",
) -> int:
    """Queue the customer's email and SMS for a move to solved or pending; rows added."""
    kind = KINDS.get(change.to_status)
    if kind is None:
        return 0
    call = _latest_call(session, ticket)
    language = call.language if call else None
    where = zone(customer_zone(session, ticket, call, settings), settings.hotline_timezone)
    contact = ticket.account.technical_contact() if ticket.account else None
    context: dict[str, Any] = {
        "language": language,
        "ticket": ticket.number,
        "subject": ticket.subject,
        "contact_name": contact.name if contact else ticket.contact_name,
        "by": change.username,
        "at": human_datetime(change.at, where, language),
        "opened": human_datetime(ticket.created_at, where, language),
        "question": question.strip()[:2000],
    }
    added = 0
    if contact is not None and contact.email:
        added += add_notification(
            session,
            kind=kind,
            channel=NotificationChannel.EMAIL,
            recipient=contact.email,
            payload=context,
            now=change.at,
            dedupe_key=f"{kind}-{change.id}-email",
            ticket_id=ticket.id,
        )
    number = _owed_number(session, call, change.at, settings)
    if number is not None:
        added += add_notification(
            session,
            kind=kind,
            channel=NotificationChannel.SMS,
            recipient=number,
            payload=context,
            now=change.at,
            dedupe_key=f"{kind}-{change.id}-sms",
            ticket_id=ticket.id,
        )
    return added


def _latest_call(session: Session, ticket: Ticket) -> Call | None:
    """The ticket's latest call (None for a ticket opened on the portal)."""
    return session.scalars(
        select(Call).where(Call.ticket_id == ticket.id).order_by(Call.id.desc()).limit(1)
    ).first()


def _owed_number(
    session: Session, call: Call | None, now: datetime, settings: Settings
) -> str | None:
    """The latest caller's number when a text is owed to it (the caller SMS rules and caps)."""
    if call is None:
        return None
    number = caller_sms.recipient(session, call, settings)
    if isinstance(number, caller_sms.Withheld):
        return None
    return None if caller_sms.take_cap(session, number, now, settings) else number
