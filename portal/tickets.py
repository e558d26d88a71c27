"""Tickets on the portal: add one, list the account's, follow a conversation, download files."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from entitlement.invite import invite_support
from entitlement.pins import working_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from kernel.db import get_session
from models import Attachment, PinKind, Ticket, TicketStatus, utcnow
from portal.web import UPLOAD_ENDPOINTS, bp, contact_required, my_account, my_contact, sentence
from tickets import attachments as files
from tickets import conversation
from tickets.attachment_store import AttachmentStore, StoreError
from tickets.categories import labels, list_categories
from tickets.customer_view import (
    CustomerStatus,
    NewTicket,
    Sort,
    TicketFormError,
    TicketQuery,
    account_ticket,
    customer_status,
    list_tickets,
    open_ticket,
    outcome_words,
)

UPLOAD_ENDPOINTS.update({"portal.new_ticket", "portal.reply"})


def store() -> AttachmentStore:
    """The attachment store the app was built with."""
    found: AttachmentStore = current_app.extensions["attachment_store"]
    return found


def limits() -> files.AttachmentLimits:
    """The attachment limits the app was configured with."""
    settings = settings_of(current_app).attachments
    return files.AttachmentLimits(
        max_bytes=settings.max_mb * 1024 * 1024,
        max_files=settings.max_files,
        extensions=settings.types or files.DEFAULT_EXTENSIONS,
    )


def _uploads() -> list[files.Upload]:
    chosen = request.files.getlist("files")
    named = [(f.filename or "", f.stream) for f in chosen if f.filename]
    for f in chosen:
        if not f.filename:
            f.close()
    return files.read_all(named)


def links(ticket: Ticket) -> conversation.Links:
    """Where the customer and staff read this ticket."""
    base = settings_of(current_app).public_base_url
    return conversation.Links(
        customer=base + url_for("portal.ticket_page", ticket_id=ticket.id),
        staff=base + url_for("dashboard_tickets.show", ticket_id=ticket.id),
    )


def _my_ticket(ticket_id: int) -> Ticket:
    ticket = account_ticket(get_session(), my_account().id, ticket_id)
    if ticket is None:
        abort(404, description="There is no such ticket on your account.")
    return ticket


@bp.get("/tickets")
@contact_required
def tickets_page() -> str:
    """My tickets: every ticket of the account, searchable, filterable, sortable."""
    args = request.args
    status_raw = args.get("status", "")
    sort_raw = args.get("sort", Sort.NEWEST.value)
    query = TicketQuery(
        text=args.get("q", "")[:200],
        category=args.get("category", "")[:64],
        status=CustomerStatus(status_raw) if status_raw in {"pending", "solved"} else None,
        sort=Sort(sort_raw) if sort_raw in {s.value for s in Sort} else Sort.NEWEST,
        page=int(args["page"]) if args.get("page", "").isdigit() else 1,
    )
    db = get_session()
    return render_template(
        "portal/tickets.html",
        result=list_tickets(db, my_account().id, query),
        query=query,
        categories=list_categories(db, active_only=False),
        labels=labels(db),
    )


def _new_ticket_form(**context: object) -> str:
    db = get_session()
    account = my_account()
    return render_template(
        "portal/new_ticket.html",
        categories=list_categories(db, customer_only=True),
        products=account.products,
        limits=limits(),
        hotline_number=settings_of(current_app).hotline_number,
        has_standing_pin=working_pin(db, account, PinKind.STANDING, utcnow()) is not None,
        form=request.form,
        **{"errors": {}, **context},
    )


@bp.get("/tickets/new")
@contact_required
def new_ticket_page() -> str:
    """The new-ticket form."""
    return _new_ticket_form()


@bp.post("/tickets/new")
@contact_required
def new_ticket() -> Response | str:
    """Open a ticket with its attachments; a mistake keeps what was typed and saves nothing."""
    form = NewTicket(
        category=request.form.get("category", ""),
        subject=request.form.get("subject", ""),
        description=request.form.get("description", ""),
        severity=request.form.get("severity", ""),
        product_id=request.form.get("product", ""),
    )
    if form.severity.strip() == "1":
        return _new_ticket_form(severity_one=True)
    try:
        uploads = files.check_uploads(_uploads(), limits())
    except files.AttachmentError as exc:
        return _new_ticket_form(errors={"files": sentence(str(exc))})
    db = get_session()
    now = utcnow()
    contact = my_contact()
    saved: list[Attachment] = []
    try:
        ticket = open_ticket(
            db,
            my_account(),
            contact,
            form,
            now,
            dict(settings_of(current_app).severity_target_minutes),
        )
        saved = files.store_uploads(db, store(), ticket, uploads, now)
        conversation.notify_new_ticket(db, ticket, contact, now, links(ticket).staff)
        db.commit()
    except TicketFormError as exc:
        db.rollback()
        return _new_ticket_form(errors={exc.field: str(exc)})
    except (StoreError, OSError):
        db.rollback()
        files.discard(store(), saved)
        return _new_ticket_form(
            errors={"files": "We could not save your files; please try again in a minute."}
        )
    except Exception:
        db.rollback()
        files.discard(store(), saved)
        raise
    return redirect(url_for("portal.ticket_page", ticket_id=ticket.id, created=1))


@bp.get("/tickets/<int:ticket_id>")
@contact_required
def ticket_page(ticket_id: int) -> str:
    """One ticket: what the customer may see, and its conversation."""
    return _render_ticket(_my_ticket(ticket_id))


def _render_ticket(ticket: Ticket, **context: object) -> str:
    db = get_session()
    all_files = files.ticket_attachments(db, ticket.id)
    return render_template(
        "portal/ticket.html",
        ticket=ticket,
        status=customer_status(ticket.status),
        waiting_on_customer=ticket.status is TicketStatus.PENDING,
        outcome=outcome_words(ticket.outcome),
        category=labels(db).get(ticket.category, ticket.category),
        messages=conversation.messages_of(db, ticket.id),
        ticket_files=[a for a in all_files if a.message_id is None],
        limits=limits(),
        created=request.args.get("created") == "1",
        now=utcnow(),
        errors=context.pop("errors", {}),
        **context,
    )


@bp.post("/tickets/<int:ticket_id>/messages")
@contact_required
def reply(ticket_id: int) -> Response | str:
    """The customer writes to support, with files if they like."""
    ticket = _my_ticket(ticket_id)
    body = request.form.get("body", "")
    try:
        uploads = files.check_uploads(_uploads(), limits())
    except files.AttachmentError as exc:
        return _render_ticket(ticket, errors={"files": sentence(str(exc))}, body=body)
    db = get_session()
    now = utcnow()
    saved: list[Attachment] = []
    try:
        message = conversation.add_message(
            db,
            ticket,
            conversation.Author.customer(my_contact()),
            body,
            "portal",
            now,
            links(ticket),
        )
        saved = files.store_uploads(db, store(), ticket, uploads, now, message=message)
        db.commit()
    except conversation.ConversationError as exc:
        db.rollback()
        return _render_ticket(ticket, errors={"body": sentence(str(exc))}, body=body)
    except Exception:
        db.rollback()
        files.discard(store(), saved)
        raise
    return redirect(url_for("portal.ticket_page", ticket_id=ticket.id) + "#latest")


@bp.post("/tickets/<int:ticket_id>/invite-support")
@contact_required
def invite_support_view(ticket_id: int) -> str:
    """Give support elevated access for one day, as a privileged PIN would."""
    ticket = _my_ticket(ticket_id)
    db = get_session()
    policy = PinPolicy.from_settings(settings_of(current_app))
    until = invite_support(db, ticket, my_contact(), utcnow(), policy)
    db.commit()
    return _render_ticket(ticket, invited_until=until)


@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@contact_required
def attachment(attachment_id: int, filename: str) -> Response:
    """Download a file of one of the account's tickets (always as a download, never inline)."""
    db = get_session()
    found = db.get(Attachment, attachment_id)
    if found is None or account_ticket(db, my_account().id, found.ticket_id) is None:
        abort(404, description="There is no such file on your account.")
    try:
        data = store().get(found.storage_key)
    except StoreError:
        abort(404, description="This file is no longer available.")
    return attachment_response(found, data)


def attachment_response(found: Attachment, data: bytes) -> Response:
    """The bytes as a download under their own name and our own content type."""
    response = Response(data, mimetype=found.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=found.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
