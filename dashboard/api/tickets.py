"""API: list, filter and read tickets; change their status; add notes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from dashboard.api import schemas
from dashboard.api.base import api_user, bp, fail, token_required
from dashboard.api.operations import operation
from dashboard.queries import ticket_figures, ticket_page
from dashboard.ticket_actions import (
    TicketActionError,
    actor_of,
    add_note,
    change_status,
    edit_fields,
)
from kernel.db import get_session
from models import Notification, Task, Ticket, utcnow
from models.users import TicketFieldChange, TicketNote, TicketStatusChange, User
from tickets import ownership


@bp.get("/tickets")
@token_required
@operation(
    "List and search tickets", responses={200: schemas.TicketPage}, query=schemas.TicketQuery
)
def list_tickets(query: schemas.TicketQuery) -> schemas.TicketPage:
    """Tickets matching the same search and filters as the dashboard list."""
    page = ticket_page(get_session(), query.to_filter())
    return schemas.TicketPage(
        tickets=[schemas.TicketSummary.of(t, page.figures[t.id]) for t in page.tickets],
        total=page.total,
        total_is_capped=page.capped,
        page=page.page,
        per_page=page.per_page,
    )


def _ticket(ticket_id: int) -> Ticket:
    ticket = get_session().scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(
            joinedload(Ticket.account), joinedload(Ticket.product), selectinload(Ticket.events)
        )
    )
    if ticket is None:
        fail(404, f"no ticket {ticket_id}")
    return ticket


def _full(ticket: Ticket) -> schemas.Ticket:
    session = get_session()
    return schemas.Ticket.of_ticket(
        ticket,
        notes=session.scalars(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(TicketNote.created_at, TicketNote.id)
        ),
        changes=session.scalars(
            select(TicketStatusChange)
            .where(TicketStatusChange.ticket_id == ticket.id)
            .order_by(TicketStatusChange.at, TicketStatusChange.id)
        ),
        notifications=session.scalars(
            select(Notification)
            .where(Notification.ticket_id == ticket.id)
            .order_by(Notification.created_at, Notification.id)
        ),
        figures=ticket_figures(session, [ticket.id])[ticket.id],
        field_changes=session.scalars(
            select(TicketFieldChange)
            .where(TicketFieldChange.ticket_id == ticket.id)
            .order_by(TicketFieldChange.at, TicketFieldChange.id)
        ),
        tasks=session.scalars(
            select(Task).where(Task.ticket_id == ticket.id).order_by(Task.created_at, Task.id)
        ),
    )


@bp.get("/tickets/<int:ticket_id>")
@token_required
@operation("Read a ticket with its timeline", responses={200: schemas.Ticket})
def read_ticket(ticket_id: int) -> schemas.Ticket:
    """One ticket with its timeline, conversation, status history and notifications."""
    return _full(_ticket(ticket_id))


@bp.patch("/tickets/<int:ticket_id>")
@token_required
@operation("Change a ticket's status", responses={200: schemas.Ticket}, body=schemas.TicketUpdate)
def update_ticket(ticket_id: int, body: schemas.TicketUpdate) -> schemas.Ticket:
    """Change a ticket's status (solved or pending tells the customer)."""
    session = get_session()
    ticket = _ticket(ticket_id)
    try:
        change_status(session, ticket, body.status.value, api_user(), body.question)
    except TicketActionError as exc:
        fail(400, "invalid ticket update", {"status": str(exc)})
    session.commit()
    return _full(ticket)


@bp.patch("/tickets/<int:ticket_id>/details")
@token_required
@operation(
    "Change a ticket's severity, category, subject or description",
    responses={200: schemas.Ticket},
    body=schemas.TicketDetailsUpdate,
)
def update_ticket_details(ticket_id: int, body: schemas.TicketDetailsUpdate) -> schemas.Ticket:
    """Change the details given; each change is recorded with who and when."""
    session = get_session()
    ticket = _ticket(ticket_id)
    try:
        edit_fields(session, ticket, body.wanted(), api_user())
    except TicketActionError as exc:
        fail(400, "invalid ticket details", {"details": str(exc)})
    session.commit()
    return _full(ticket)


@bp.post("/tickets/<int:ticket_id>/notes")
@token_required
@operation("Add a note to a ticket", responses={201: schemas.Note}, body=schemas.NoteCreate)
def create_note(ticket_id: int, body: schemas.NoteCreate) -> schemas.Note:
    """Add a note (or a message) to a ticket's conversation."""
    session = get_session()
    ticket = _ticket(ticket_id)
    try:
        created = add_note(session, ticket, body.body, api_user(), body.kind.value)
    except TicketActionError as exc:
        fail(400, "invalid note", {"body": str(exc)})
    session.commit()
    return schemas.Note.of(created)


@bp.post("/tickets/<int:ticket_id>/take")
@token_required
@operation(
    "Take a ticket (you own it; an open one is acknowledged)", responses={200: schemas.Ticket}
)
def take_ticket(ticket_id: int) -> schemas.Ticket:
    """The token's user takes the ticket."""
    session = get_session()
    ticket = _ticket(ticket_id)
    ownership.take(session, ticket, actor_of(api_user()), utcnow())
    session.commit()
    return _full(ticket)


@bp.post("/tickets/<int:ticket_id>/acknowledge")
@token_required
@operation("Acknowledge an open ticket", responses={200: schemas.Ticket}, errors=(409,))
def acknowledge_ticket(ticket_id: int) -> schemas.Ticket:
    """Acknowledge an open ticket; a 409 when it is not open."""
    session = get_session()
    ticket = _ticket(ticket_id)
    if not ownership.acknowledge(session, ticket, actor_of(api_user()), utcnow()):
        fail(409, f"the ticket is {ticket.status.value}, not open")
    session.commit()
    return _full(ticket)


@bp.post("/tickets/<int:ticket_id>/assign")
@token_required
@operation(
    "Assign a ticket to a user",
    responses={200: schemas.Ticket},
    body=schemas.TicketAssign,
    errors=(400,),
)
def assign_ticket(ticket_id: int, body: schemas.TicketAssign) -> schemas.Ticket:
    """Give the ticket to an active user, or to nobody."""
    session = get_session()
    ticket = _ticket(ticket_id)
    assignee = None
    if body.user_id is not None:
        user = session.get(User, body.user_id)
        if user is None or not user.active:
            fail(400, "invalid assignment", {"user_id": "no active user with this id"})
        assignee = actor_of(user)
    ownership.assign(session, ticket, assignee, actor_of(api_user()), utcnow())
    session.commit()
    return _full(ticket)
