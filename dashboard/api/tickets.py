"""API: list, filter and read tickets; change their status; add notes."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from dashboard.api import serialize
from dashboard.api.base import api_user, bp, fail, json_body, token_required
from dashboard.queries import parse_filter, ticket_page
from dashboard.ticket_actions import TicketActionError, add_note, change_status
from hotline.db import get_session
from models import Notification, Ticket
from models.users import TicketNote, TicketStatusChange


@bp.get("/tickets")
@token_required
def list_tickets() -> ResponseReturnValue:
    """Tickets matching the same search and filters as the dashboard list."""
    flt = parse_filter(request.args)
    if flt.errors:
        fail(400, "invalid filter", {e.split(" ")[0]: e for e in flt.errors})
    page = ticket_page(get_session(), flt)
    return jsonify(
        {
            "tickets": [serialize.ticket_summary(t) for t in page.tickets],
            "total": page.total,
            "total_is_capped": page.capped,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


def _ticket(ticket_id: int) -> Ticket:
    ticket = get_session().scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(joinedload(Ticket.account), joinedload(Ticket.product))
    )
    if ticket is None:
        fail(404, f"no ticket {ticket_id}")
    return ticket


def _full(ticket: Ticket) -> dict[str, Any]:
    session = get_session()
    data = serialize.ticket_summary(ticket)
    data["description"] = ticket.description
    data["events"] = [serialize.event(e) for e in ticket.events]
    data["notes"] = [
        serialize.note(n)
        for n in session.scalars(
            select(TicketNote)
            .where(TicketNote.ticket_id == ticket.id)
            .order_by(TicketNote.created_at, TicketNote.id)
        )
    ]
    data["status_changes"] = [
        serialize.status_change(c)
        for c in session.scalars(
            select(TicketStatusChange)
            .where(TicketStatusChange.ticket_id == ticket.id)
            .order_by(TicketStatusChange.at, TicketStatusChange.id)
        )
    ]
    data["notifications"] = [
        serialize.notification(n)
        for n in session.scalars(
            select(Notification)
            .where(Notification.ticket_id == ticket.id)
            .order_by(Notification.created_at, Notification.id)
        )
    ]
    return data


@bp.get("/tickets/<int:ticket_id>")
@token_required
def read_ticket(ticket_id: int) -> ResponseReturnValue:
    """One ticket with its timeline, conversation, status history and notifications."""
    session = get_session()
    ticket = session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.events))
    )
    if ticket is None:
        fail(404, f"no ticket {ticket_id}")
    return jsonify(_full(ticket))


@bp.patch("/tickets/<int:ticket_id>")
@token_required
def update_ticket(ticket_id: int) -> ResponseReturnValue:
    """Change a ticket's status (the only field the API lets you change)."""
    body = json_body()
    unknown = set(body) - {"status"}
    if unknown:
        fail(400, "only status can be changed", {k: "not a changeable field" for k in unknown})
    if not isinstance(body.get("status"), str):
        fail(400, "invalid ticket update", {"status": "required: open, pending or solved"})
    session = get_session()
    ticket = _ticket(ticket_id)
    try:
        change_status(session, ticket, body["status"], api_user())
    except TicketActionError as exc:
        fail(400, "invalid ticket update", {"status": str(exc)})
    session.commit()
    return jsonify(_full(ticket))


@bp.post("/tickets/<int:ticket_id>/notes")
@token_required
def create_note(ticket_id: int) -> ResponseReturnValue:
    """Add a note (or a message) to a ticket's conversation."""
    body = json_body()
    text = body.get("body")
    kind = body.get("kind", "note")
    if not isinstance(text, str) or not isinstance(kind, str):
        fail(400, "invalid note", {"body": "required text"})
    session = get_session()
    ticket = _ticket(ticket_id)
    try:
        created = add_note(session, ticket, text, api_user(), kind)
    except TicketActionError as exc:
        field = "kind" if "kind" in str(exc) else "body"
        fail(400, "invalid note", {field: str(exc)})
    session.commit()
    return jsonify(serialize.note(created)), 201
