"""The ticket list (search, filters, CSV) and the ticket page with its whole call timeline."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.wrappers import Response

from dashboard.outbox import message_text
from dashboard.queries import (
    SORTS,
    filter_choices,
    filtered,
    parse_filter,
    ticket_figures,
    ticket_page,
)
from dashboard.security import current_user, login_required, manager_required
from dashboard.ticket_actions import (
    TicketActionError,
    TicketField,
    actor_of,
    add_note,
    change_status,
    edit_fields,
)
from dashboard.timeline import build_timeline, format_seconds
from dashboard.web import page_blueprint, sentence
from entitlement import Entitlement, check_entitlement
from kernel.db import get_session
from models import (
    Account,
    Contact,
    Notification,
    Task,
    Ticket,
    TicketAssignment,
    TicketStatus,
    utcnow,
)
from models.users import TicketFieldChange, TicketNote, TicketStatusChange, User
from tickets import ownership, tasks
from tickets.categories import category_codes
from tickets.sla import summarize

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
    "assignee",
    "open_tasks",
    "sla_state",
    "next_due_at",
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


@bp.get("/mine")
@login_required
def mine() -> str:
    """My tickets: those owned by the signed-in user or by the engineer they are."""
    session = get_session()
    user = current_user()
    assert user is not None
    flt = dataclasses.replace(
        parse_filter(request.args),
        mine_user_id=user.id,
        mine_engineer_id=user.engineer_id,
    )
    return render_template(
        "dashboard/tickets.html",
        flt=flt,
        page=ticket_page(session, flt),
        choices=filter_choices(session),
        fmt=format_seconds,
        mine=True,
    )


@bp.get("/export.csv")
@manager_required
def export_csv() -> Response:
    """The filtered list as CSV for managers (at most CSV_LIMIT rows, in the list's order)."""
    flt = parse_filter(request.args)
    session = get_session()
    now = utcnow()
    stmt = (
        filtered(session, flt, now)
        .options(joinedload(Ticket.account), joinedload(Ticket.product))
        .order_by(*SORTS[flt.sort])
        .limit(CSV_LIMIT)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    # Read in one go, not with a server-side cursor: the response outlives the request's session.
    tickets = session.scalars(stmt).all()
    figures = ticket_figures(session, [ticket.id for ticket in tickets], now)
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
            ticket.assignee_name,
            str(figure.sla.open_tasks),
            figure.sla.state.value,
            figure.sla.next_due_at.isoformat() if figure.sla.next_due_at else "",
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
    notifications = _rows_of(session, Notification, ticket.id, Notification.created_at)
    notes = _rows_of(session, TicketNote, ticket.id, TicketNote.created_at)
    changes = _rows_of(session, TicketStatusChange, ticket.id, TicketStatusChange.at)
    field_changes = _rows_of(session, TicketFieldChange, ticket.id, TicketFieldChange.at)
    assignments = _rows_of(session, TicketAssignment, ticket.id, TicketAssignment.at)
    ticket_tasks = _rows_of(session, Task, ticket.id, Task.created_at)
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return render_template(
        "dashboard/ticket.html",
        ticket=ticket,
        contact=contact_of(ticket),
        account_summary=account_summary(session, ticket),
        assignments=assignments,
        tasks=ticket_tasks,
        sla=summarize(ticket_tasks, utcnow()),
        users=users,
        field_changes=field_changes,
        categories=sorted({*category_codes(session), ticket.category}),
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
    """Move a ticket to open, acknowledged, pending or solved."""
    session = get_session()
    ticket = session.get(Ticket, ticket_id) or abort(404)
    user = current_user()
    assert user is not None
    try:
        question = request.form.get("question", "")[:2000]
        change = change_status(session, ticket, request.form.get("status", ""), user, question)
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
    flash("Note added.", "ok")
    return redirect(url_for(".show", ticket_id=ticket_id), code=303)


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


@dataclass(frozen=True)
class AccountSummary:
    """What an engineer on the ticket may see of its account: contacts, products, entitlement."""

    account: Account
    entitlement: Entitlement


def account_summary(session: Session, ticket: Ticket) -> AccountSummary | None:
    """The ticket's account as an engineer needs it (no licences to issue, no PIN actions)."""
    if ticket.account is None:
        return None
    return AccountSummary(ticket.account, check_entitlement(session, ticket.account, utcnow()))


def contact_of(ticket: Ticket) -> Contact | None:
    """The account's contact the call flow matched (by name), whose phone may differ."""
    if ticket.account is None or not ticket.contact_name:
        return None
    for contact in ticket.account.contacts:
        if contact.name == ticket.contact_name:
            return contact
    return None


def _ticket_or_404(ticket_id: int) -> Ticket:
    ticket = get_session().get(Ticket, ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


@bp.post("/<int:ticket_id>/take")
@login_required
def take(ticket_id: int) -> Response:
    """The signed-in user takes the ticket (and acknowledges it if it was open)."""
    session = get_session()
    ticket = _ticket_or_404(ticket_id)
    ownership.take(session, ticket, actor_of(_me()), utcnow())
    session.commit()
    flash(f"{ticket.number} is yours.", "ok")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<int:ticket_id>/acknowledge")
@login_required
def acknowledge(ticket_id: int) -> Response:
    """Acknowledge an open ticket: someone is on it."""
    session = get_session()
    ticket = _ticket_or_404(ticket_id)
    if ownership.acknowledge(session, ticket, actor_of(_me()), utcnow()):
        flash(f"{ticket.number} is acknowledged.", "ok")
    else:
        flash(
            f"{ticket.number} is {ticket.status.value}, not open: nothing to acknowledge.", "error"
        )
    session.commit()
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<int:ticket_id>/assign")
@login_required
def assign(ticket_id: int) -> Response:
    """Give the ticket to another user (or to nobody)."""
    session = get_session()
    ticket = _ticket_or_404(ticket_id)
    raw = request.form.get("user_id", "").strip()
    assignee = None
    if raw:
        user = session.get(User, int(raw)) if raw.isascii() and raw.isdigit() else None
        if user is None or not user.active:
            flash("Choose an active user to assign the ticket to.", "error")
            return redirect(url_for(".show", ticket_id=ticket_id))
        assignee = actor_of(user)
    ownership.assign(session, ticket, assignee, actor_of(_me()), utcnow())
    session.commit()
    flash(f"{ticket.number} is assigned to {ticket.assignee_name or 'nobody'}.", "ok")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.post("/<int:ticket_id>/tasks/<int:task_id>/done")
@login_required
def task_done(ticket_id: int, task_id: int) -> Response:
    """Mark one of the ticket's tasks done (its timers stop)."""
    session = get_session()
    task = session.get(Task, task_id)
    if task is None or task.ticket_id != ticket_id:
        abort(404)
    note = request.form.get("resolution", "").strip()[:2000] or "marked done"
    if not tasks.finish_task(session, task, _me().username, note, utcnow()):
        flash("That task was already done.", "error")
    session.commit()
    return redirect(url_for(".show", ticket_id=ticket_id, _anchor="tasks"))


@bp.post("/<int:ticket_id>/tasks/<int:task_id>/acknowledge")
@login_required
def task_acknowledge(ticket_id: int, task_id: int) -> Response:
    """Say you are on a task: it will not escalate at its reminder time."""
    session = get_session()
    task = session.get(Task, task_id)
    if task is None or task.ticket_id != ticket_id:
        abort(404)
    if not tasks.acknowledge_task(session, task, _me().username, utcnow()):
        flash("That task was already acknowledged or done.", "error")
    session.commit()
    return redirect(url_for(".show", ticket_id=ticket_id, _anchor="tasks"))


def _rows_of(session: Session, model: Any, ticket_id: int, when: Any) -> Sequence[Any]:
    """A ticket's rows of `model`, oldest first (ties in insertion order)."""
    return session.scalars(
        select(model).where(model.ticket_id == ticket_id).order_by(when, model.id)
    ).all()
