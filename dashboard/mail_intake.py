"""Email: the pending-intake queue (held messages staff approve or reject) and the intake log."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.security import current_user, login_required
from dashboard.web import page_blueprint, sentence
from kernel.config import settings_of
from kernel.db import get_session
from models import utcnow
from tickets.attachment_store import AttachmentStore
from tickets.mail.intake import IntakeConfig
from tickets.mail.review import ReviewError, approve, held, recent, reject

bp = page_blueprint("dashboard_mail", __name__, url_prefix="/dashboard/mail")


def _config() -> IntakeConfig:
    return IntakeConfig.from_settings(settings_of(current_app))


@bp.get("/")
@login_required
def index() -> str:
    """Held messages to review, and the latest messages received with what became of them."""
    session = get_session()
    return render_template(
        "dashboard/mail.html",
        held=held(session),
        recent=recent(session),
        mail=settings_of(current_app).mail,
    )


@bp.post("/<int:mail_id>/approve")
@login_required
def approve_view(mail_id: int) -> Response:
    """Open the ticket from a held message (or add it to the ticket it answers)."""
    session = get_session()
    user = current_user()
    assert user is not None
    store: AttachmentStore = current_app.extensions["attachment_store"]
    try:
        ticket = approve(session, mail_id, user.name, utcnow(), _config(), store)
    except ReviewError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".index"))
    audit.record(session, user, "mail.approved", ticket.number, mail_id=mail_id)
    session.commit()
    flash(f"Approved: {ticket.number}.", "ok")
    return redirect(url_for("dashboard_tickets.show", ticket_id=ticket.id))


@bp.post("/<int:mail_id>/reject")
@login_required
def reject_view(mail_id: int) -> Response:
    """Refuse a held message; its sender is told."""
    session = get_session()
    user = current_user()
    assert user is not None
    try:
        reject(session, mail_id, user.name, utcnow(), _config())
    except ReviewError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".index"))
    audit.record(session, user, "mail.rejected", f"mail {mail_id}")
    session.commit()
    flash("Rejected; the sender has been told.", "ok")
    return redirect(url_for(".index"))
