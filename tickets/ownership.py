"""Who owns a ticket and where it stands (open, acknowledged, pending, solved), with history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Ticket, TicketAssignment, TicketStatus
from models.users import TicketStatusChange, User
from tickets.calls import record_ticket_event
from tickets.events import Assigned


@dataclass(frozen=True)
class Actor:
    """Someone changing a ticket: a dashboard user, an engineer on the phone, or both."""

    name: str
    user_id: int | None = None
    engineer_id: int | None = None


def set_status(
    session: Session, ticket: Ticket, status: TicketStatus, by: Actor, now: datetime
) -> TicketStatusChange | None:
    """Move the ticket to `status`, recording who and when; None when it is there already."""
    if ticket.status is status:
        return None
    change = TicketStatusChange(
        ticket_id=ticket.id,
        user_id=by.user_id,
        username=by.name[:64],
        from_status=ticket.status,
        to_status=status,
        at=now,
    )
    ticket.status = status
    ticket.updated_at = now
    session.add(change)
    session.flush()
    return change


def assign(
    session: Session, ticket: Ticket, assignee: Actor | None, by: Actor, now: datetime
) -> TicketAssignment | None:
    """Make `assignee` (None: nobody) the ticket's owner; None when nothing changes."""
    user_id = assignee.user_id if assignee else None
    engineer_id = assignee.engineer_id if assignee else None
    name = assignee.name if assignee else None
    # The name counts too: an engineer rung by ONCALL_NUMBER alone has no Engineer row.
    current = (ticket.assignee_user_id, ticket.assignee_engineer_id, ticket.assignee_name)
    if current == (user_id, engineer_id, name):
        return None
    ticket.assignee_user_id = user_id
    ticket.assignee_engineer_id = engineer_id
    ticket.assignee_name = name
    ticket.updated_at = now
    row = TicketAssignment(
        ticket_id=ticket.id, assignee_name=ticket.assignee_name, by_name=by.name, at=now
    )
    session.add(row)
    record_ticket_event(
        session, ticket.id, Assigned(assignee=ticket.assignee_name, by=by.name), now
    )
    session.flush()
    return row


def acknowledge(session: Session, ticket: Ticket, by: Actor, now: datetime) -> bool:
    """Acknowledge an open ticket (it gets `by` as owner if it has none); False if not open."""
    if ticket.assignee_name is None:
        assign(session, ticket, by, by, now)
    if ticket.status is not TicketStatus.OPEN:
        return False
    set_status(session, ticket, TicketStatus.ACKNOWLEDGED, by, now)
    return True


def take(session: Session, ticket: Ticket, by: Actor, now: datetime) -> None:
    """`by` takes the ticket: becomes its owner and, if it was open, acknowledges it."""
    assign(session, ticket, by, by, now)
    if ticket.status is TicketStatus.OPEN:
        set_status(session, ticket, TicketStatus.ACKNOWLEDGED, by, now)


def is_assigned_to(ticket: Ticket, actor: Actor) -> bool:
    """True when the ticket's owner is this user or this user's engineer."""
    if actor.user_id is not None and ticket.assignee_user_id == actor.user_id:
        return True
    return actor.engineer_id is not None and ticket.assignee_engineer_id == actor.engineer_id


def engineer_actor(session: Session, engineer_id: int | None, name: str) -> Actor:
    """An engineer as an actor, with the dashboard login linked to them if there is one."""
    user_id = None
    if engineer_id is not None:
        user_id = session.scalar(
            select(User.id).where(User.engineer_id == engineer_id, User.active.is_(True)).limit(1)
        )
    return Actor(name=name, user_id=user_id, engineer_id=engineer_id)
