"""Which ticket a message answers, and the headers that keep our emails in the customer's thread."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import InboundMail, Notification, Ticket

# Our outgoing Message-IDs are "<notify-<row id>@host>" (notify.jobs): the row names the ticket.
_OURS = re.compile(r"^<notify-(\d{1,12})@[^>]+>$")
_TICKET_TAG = re.compile(r"\[HL-?0*(\d{1,12})\]", re.IGNORECASE)


def ticket_answered(session: Session, subject: str, thread: tuple[str, ...]) -> Ticket | None:
    """The ticket a reply belongs to: by the message ids it answers, else [HL-000123]."""
    ours = [int(m.group(1)) for ref in thread if (m := _OURS.match(ref))]
    if ours:
        ticket_id = session.scalar(
            select(Notification.ticket_id)
            .where(Notification.id.in_(ours), Notification.ticket_id.is_not(None))
            .order_by(Notification.id.desc())
            .limit(1)
        )
        if ticket_id is not None:
            return session.get(Ticket, ticket_id)
    if thread:
        ticket_id = session.scalar(
            select(InboundMail.ticket_id)
            .where(InboundMail.message_id.in_(thread[-20:]), InboundMail.ticket_id.is_not(None))
            .order_by(InboundMail.id.desc())
            .limit(1)
        )
        if ticket_id is not None:
            return session.get(Ticket, ticket_id)
    tag = _TICKET_TAG.search(subject)
    return session.get(Ticket, int(tag.group(1))) if tag else None


def latest_thread(session: Session, ticket_id: int) -> tuple[str, ...]:
    """The Message-IDs of the ticket's inbound emails, oldest first (the last few)."""
    ids = session.scalars(
        select(InboundMail.message_id)
        .where(InboundMail.ticket_id == ticket_id)
        .order_by(InboundMail.id.desc())
        .limit(8)
    ).all()
    return tuple(reversed(ids))
