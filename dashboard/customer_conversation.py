"""The ticket page's customer conversation: staff replies (public) and files, beside notes."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.security import current_user, login_required
from dashboard.tickets import bp
from dashboard.web import sentence
from kernel.config import settings_of
from kernel.db import get_session
from models import Attachment, Ticket, utcnow
from tickets import attachments as files
from tickets import conversation
from tickets.attachment_store import AttachmentStore, StoreError


def _store() -> AttachmentStore:
    found: AttachmentStore = current_app.extensions["attachment_store"]
    return found


def _limits() -> files.AttachmentLimits:
    settings = settings_of(current_app).attachments
    return files.AttachmentLimits(
        max_bytes=settings.max_mb * 1024 * 1024,
        max_files=settings.max_files,
        extensions=settings.types or files.DEFAULT_EXTENSIONS,
    )


def _allow_files() -> None:
    # Files may exceed the app-wide body limit; set before the CSRF check reads the form.
    if request.endpoint == "dashboard_tickets.reply":
        settings = settings_of(current_app).attachments
        request.max_content_length = settings.max_mb * settings.max_files * 1024 * 1024 + 65536


bp.before_request_funcs.setdefault(None, []).insert(0, _allow_files)


def customer_conversation(ticket: Ticket) -> dict[str, Any]:
    """What the conversation partial shows: messages (newest last) and the ticket's own files."""
    session = get_session()
    return {
        "messages": conversation.messages_of(session, ticket.id),
        "files": [a for a in files.ticket_attachments(session, ticket.id) if a.message_id is None],
        "limits": _limits(),
    }


@bp.post("/<int:ticket_id>/reply")
@login_required
def reply(ticket_id: int) -> Response:
    """A public reply: the customer sees it on the portal and gets it by email."""
    session = get_session()
    ticket = session.get(Ticket, ticket_id) or abort(404)
    user = current_user()
    assert user is not None
    back = redirect(url_for(".show", ticket_id=ticket_id, _anchor="customer-conversation"))
    chosen = request.files.getlist("files")
    uploads = files.read_all([(f.filename or "", f.stream) for f in chosen if f.filename])
    saved: list[Attachment] = []
    try:
        checked = files.check_uploads(uploads, _limits())
        base = settings_of(current_app).public_base_url
        message = conversation.add_message(
            session,
            ticket,
            conversation.Author.staff(user),
            request.form.get("body", ""),
            "dashboard",
            utcnow(),
            conversation.Links(
                customer=base + url_for("portal.ticket_page", ticket_id=ticket.id),
                staff=base + url_for(".show", ticket_id=ticket.id),
            ),
        )
        saved = files.store_uploads(session, _store(), ticket, checked, utcnow(), message=message)
        audit.record(session, user, "ticket.replied", ticket.number, message_id=message.id)
        session.commit()
    except (files.AttachmentError, conversation.ConversationError) as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return back
    except Exception:
        session.rollback()
        files.discard(_store(), saved)
        raise
    flash("Reply sent to the customer.", "ok")
    return back


@bp.get("/<int:ticket_id>/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(ticket_id: int, attachment_id: int, filename: str) -> Response:
    """Download a file of the ticket (always as a download, never shown inline)."""
    found = get_session().get(Attachment, attachment_id)
    if found is None or found.ticket_id != ticket_id:
        abort(404)
    try:
        data = _store().get(found.storage_key)
    except StoreError:
        abort(404, description="This file is no longer in the attachment store.")
    response = Response(data, mimetype=found.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=found.filename)
    return response
