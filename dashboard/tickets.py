"""The ticket list (search, filters, CSV) and the ticket page with its whole call timeline."""

from __future__ import annotations

import csv
import io

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from dashboard.outbox import message_text
from dashboard.queries import (
    SORTS,
    call_figures,
    filter_choices,
    filtered,
    parse_filter,
    ticket_page,
)
from dashboard.security import current_user, login_required, manager_required
from dashboard.ticket_actions import (
    TicketActionError,
    TicketField,
    add_note,
    change_status,
    edit_fields,
)
from dashboard.timeline import build_timeline, format_seconds
from dashboard.web import page_blueprint, sentence
from kernel.db import get_session
from models import Notification, Ticket, TicketStatus
from models.users import TicketFieldChange, TicketNote, TicketStatusChange
from tickets.severity import CATEGORIES

bp = page_blueprint("dashboard_tickets", __name__, url_prefix="/dashboard/tickets")

CSV_LIMIT = 50_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = [
    "number",
    "created_at",
    "status",
    "severity",
    "category",
    "outcome",
    "account",
    "product",
    "contact_name",
    "contact_phone",
    "subject",
    "refusal_reason",
    "calls",
    "answered_by",
    "seconds_to_first_ring",
    "seconds_to_connect",
]


@bp.get("/")
@login_required
def index() -> str:
    """Tickets matching the search and filters, a page at a time."""
    session = get_session()
    flt = parse_filter(request.args)
    page = ticket_page(session, flt)
    return render_template(
        "dashboard/tickets.html",
        flt=flt,
        page=page,
        choices=filter_choices(session),
        fmt=format_seconds,
    )


@bp.get("/export.csv")
@manager_required
def export_csv() -> Response:
    """The filtered list as CSV for managers (at most CSV_LIMIT rows, in the list's order)."""
    flt = parse_filter(request.args)
    session = get_session()
    stmt = (
        filtered(session, flt)
        .options(joinedload(Ticket.account), joinedload(Ticket.product))
        .order_by(*SORTS[flt.sort])
        .limit(CSV_LIMIT)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    # Read in one go, not with a server-side cursor: the response outlives the request's session.
    tickets = session.scalars(stmt).all()
    figures = call_figures(session, [ticket.id for ticket in tickets])
    for ticket in tickets:
        figure = figures[ticket.id]
        row = [
            ticket.number,
            ticket.created_at.isoformat(),
            ticket.status.value,
            str(ticket.severity or ""),
            ticket.category,
            ticket.outcome.value if ticket.outcome else "",
            ticket.account.name if ticket.account else "",
            ticket.product.name if ticket.product else "",
            ticket.contact_name,
            ticket.contact_phone,
            ticket.subject,
            ticket.refusal_reason,
            str(figure.calls),
            figure.answered_by,
            _number(figure.seconds_to_first_ring),
            _number(figure.seconds_to_connect),
        ]
        # Every cell, not just the free-text ones: names come from customers and admins too.
        writer.writerow([defuse_cell(value) for value in row])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=tickets.csv"},
    )


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def defuse_cell(value: str | None) -> str:
    """A CSV cell a spreadsheet shows as text: one starting = + - @ tab or CR gets a leading '."""
    # Spreadsheets run such a cell as a formula (=HYPERLINK(...) can leak data or mislead).
    text = value or ""
    return "'" + text if text[:1] in FORMULA_STARTS else text


@bp.get("/<int:ticket_id>")
@login_required
def show(ticket_id: int) -> str:
    """One ticket: details, call timeline, notifications, conversation and status history."""
    session = get_session()
    ticket = session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(
            joinedload(Ticket.account),
            joinedload(Ticket.product),
            selectinload(Ticket.events),
            selectinload(Ticket.calls),
        )
    )
    if ticket is None:
        abort(404)
    notifications = session.scalars(
        select(Notification)
        .where(Notification.ticket_id == ticket.id)
        .order_by(Notification.created_at, Notification.id)
    ).all()
    notes = session.scalars(
        select(TicketNote)
        .where(TicketNote.ticket_id == ticket.id)
        .order_by(TicketNote.created_at, TicketNote.id)
    ).all()
    changes = session.scalars(
        select(TicketStatusChange)
        .where(TicketStatusChange.ticket_id == ticket.id)
        .order_by(TicketStatusChange.at, TicketStatusChange.id)
    ).all()
    field_changes = session.scalars(
        select(TicketFieldChange)
        .where(TicketFieldChange.ticket_id == ticket.id)
        .order_by(TicketFieldChange.at, TicketFieldChange.id)
    ).all()
    return render_template(
        "dashboard/ticket.html",
        ticket=ticket,
        field_changes=field_changes,
        categories=sorted({*CATEGORIES, ticket.category}),
        fmt=format_seconds,
        timeline=build_timeline(ticket),
        notifications=notifications,
        messages={n.id: message_text(n) for n in notifications},
        notes=notes,
        changes=changes,
        statuses=[s.value for s in TicketStatus],
    )


@bp.post("/<int:ticket_id>/status")
@login_required
def set_status(ticket_id: int) -> Response:
    """Move a ticket to open, pending or solved."""
    session = get_session()
    ticket = session.get(Ticket, ticket_id) or abort(404)
    user = current_user()
    assert user is not None
    try:
        change = change_status(session, ticket, request.form.get("status", ""), user)
    except TicketActionError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".show", ticket_id=ticket_id))
    session.commit()
    if change is not None:
        flash(f"{ticket.number} is now {ticket.status.value}.", "ok")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<int:ticket_id>/notes")
@login_required
def new_note(ticket_id: int) -> Response:
    """Add a note to the ticket's conversation."""
    session = get_session()
    ticket = session.get(Ticket, ticket_id) or abort(404)
    user = current_user()
    assert user is not None
    try:
        add_note(session, ticket, request.form.get("body", ""), user)
    except TicketActionError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".show", ticket_id=ticket_id))
    session.commit()
    return redirect(url_for(".show", ticket_id=ticket_id, _anchor="conversation"))


@bp.post("/<int:ticket_id>/details")
@login_required
def edit_details(ticket_id: int) -> Response:
    """Change the ticket's severity, category, subject or description (each change recorded)."""
    session = get_session()
    ticket = session.get(Ticket, ticket_id) or abort(404)
    user = current_user()
    assert user is not None
    wanted = {
        field: request.form[field.value] for field in TicketField if field.value in request.form
    }
    # An unknown severity stays unknown until someone picks one.
    if wanted.get(TicketField.SEVERITY) == "" and ticket.severity is None:
        del wanted[TicketField.SEVERITY]
    try:
        changes = edit_fields(session, ticket, wanted, user)
    except TicketActionError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".show", ticket_id=ticket_id))
    session.commit()
    if changes:
        names = ", ".join(change.field for change in changes)
        flash(f"{ticket.number}: {names} changed.", "ok")
    return redirect(url_for(".show", ticket_id=ticket_id))
