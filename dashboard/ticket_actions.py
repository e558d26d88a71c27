"""Changing a ticket: its status and its conversation, recorded with who and when."""

from __future__ import annotations

from enum import Enum

from sqlalchemy.orm import Session

from kernel.services import current_settings
from models import Ticket, TicketStatus, utcnow
from models.users import TicketNote, TicketStatusChange, User
from notify.customer_updates import status_changed
from tickets.ownership import Actor, set_status


class NoteKind(str, Enum):
    """A private note among staff, or a message to the customer."""

    NOTE = "note"
    MESSAGE = "message"


NOTE_KINDS = tuple(kind.value for kind in NoteKind)
MAX_NOTE_LENGTH = 10_000


class TicketActionError(ValueError):
    """A change that cannot be made as asked; the message says why."""


def change_status(
    session: Session, ticket: Ticket, raw_status: str, user: User, question: str = ""
) -> TicketStatusChange | None:
    """Move the ticket to `raw_status`, recording the change and telling the customer when it
    is solved or waits on them; None when already there."""
    try:
        status = TicketStatus(raw_status)
    except ValueError:
        names = ", ".join(s.value for s in TicketStatus)
        raise TicketActionError(f"status must be one of {names}") from None
    change = set_status(session, ticket, status, actor_of(user), utcnow())
    if change is not None:
        status_changed(session, ticket, change, current_settings(), question)
    return change


def actor_of(user: User) -> Actor:
    """A dashboard user as the actor of a ticket change (history shows their username)."""
    return Actor(name=user.username, user_id=user.id, engineer_id=user.engineer_id)


def add_note(
    session: Session, ticket: Ticket, body: str, user: User, kind: str = "note"
) -> TicketNote:
    """Add a note or message by `user` to the ticket's conversation."""
    body = body.strip()
    if not body:
        raise TicketActionError("the note is empty")
    if len(body) > MAX_NOTE_LENGTH:
        raise TicketActionError(f"a note can be at most {MAX_NOTE_LENGTH} characters")
    if kind not in NOTE_KINDS:
        raise TicketActionError("kind must be note or message")
    note = TicketNote(
        ticket_id=ticket.id,
        user_id=user.id,
        author=user.name,
        kind=kind,
        body=body,
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    return note
