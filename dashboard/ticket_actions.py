"""Changing a ticket: its status, its details and its conversation, recorded with who and when."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from sqlalchemy.orm import Session

from kernel.services import current_settings
from models import Ticket, TicketStatus, utcnow
from models.users import TicketFieldChange, TicketNote, TicketStatusChange, User
from notify.customer_updates import status_changed
from tickets.categories import category_codes
from tickets.ownership import Actor, set_status
from tickets.severity import SEVERITIES


class NoteKind(str, Enum):
    """A private note among staff, or a message to the customer."""

    NOTE = "note"
    MESSAGE = "message"


class TicketField(str, Enum):
    """The details staff may edit on a ticket."""

    SEVERITY = "severity"
    CATEGORY = "category"
    SUBJECT = "subject"
    DESCRIPTION = "description"


NOTE_KINDS = tuple(kind.value for kind in NoteKind)
MAX_NOTE_LENGTH = 10_000
MAX_SUBJECT_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 20_000


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


def edit_fields(
    session: Session, ticket: Ticket, wanted: Mapping[TicketField, str], user: User
) -> list[TicketFieldChange]:
    """Set the ticket's details to `wanted`, recording each change; nothing changes on an error.

    Every value is checked before any is applied, so a form with one bad field changes nothing.
    """
    # Only what changes is checked: a ticket keeps a category from before the list existed.
    values = {
        field: _checked(session, field, raw)
        for field, raw in wanted.items()
        if raw.strip() != _current(ticket, field)
    }
    now = utcnow()
    changes = []
    for field, value in values.items():
        old = _current(ticket, field)
        if old == value:
            continue
        changes.append(
            TicketFieldChange(
                ticket_id=ticket.id,
                user_id=user.id,
                username=user.username,
                field=field.value,
                old_value=old,
                new_value=value,
                at=now,
            )
        )
        if field is TicketField.SEVERITY:
            ticket.severity = int(value)
        else:
            setattr(ticket, field.value, value)
    if changes:
        ticket.updated_at = now
        session.add_all(changes)
        session.flush()
    return changes


def _current(ticket: Ticket, field: TicketField) -> str:
    if field is TicketField.SEVERITY:
        return str(ticket.severity or "")
    return str(getattr(ticket, field.value) or "")


def _checked(session: Session, field: TicketField, raw: str) -> str:
    """The value to store for `field`, or a TicketActionError saying what is wrong with it."""
    value = raw.strip()
    match field:
        case TicketField.SEVERITY:
            if value not in {str(severity) for severity in SEVERITIES}:
                raise TicketActionError("severity must be 1, 2, 3 or 4")
        case TicketField.CATEGORY:
            codes = category_codes(session)
            if value not in codes:
                raise TicketActionError("category must be one of " + ", ".join(codes))
        case TicketField.SUBJECT:
            if not value:
                raise TicketActionError("the subject is empty")
            if len(value) > MAX_SUBJECT_LENGTH:
                raise TicketActionError(f"a subject can be at most {MAX_SUBJECT_LENGTH} characters")
        case TicketField.DESCRIPTION:
            if len(value) > MAX_DESCRIPTION_LENGTH:
                raise TicketActionError(
                    f"a description can be at most {MAX_DESCRIPTION_LENGTH} characters"
                )
    return value
