"""Twilio's message status callbacks: delivered or failed, recorded on the notification."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlalchemy import ColumnElement, Engine, or_, update

from kernel.signatures import signed_form, twilio_signed
from models import Notification, NotificationStatus

bp = Blueprint("notify", __name__, url_prefix="/notify")

# Callbacks arrive out of order: a status only ever moves up this ranking.
RANK = {
    NotificationStatus.PENDING: 0,
    NotificationStatus.ENQUEUED: 0,
    NotificationStatus.SENT: 1,
    NotificationStatus.DELIVERED: 2,
    NotificationStatus.FAILED: 2,
    NotificationStatus.DEAD: 3,
}
# For each status, those a receipt may move up from.
LOWER = {new: [s for s, rank in RANK.items() if rank < RANK[new]] for new in RANK}
TWILIO_STATUS = {
    "accepted": NotificationStatus.SENT,
    "queued": NotificationStatus.SENT,
    "sending": NotificationStatus.SENT,
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
}


@bp.post("/status")
@twilio_signed
def status() -> Response:
    """Record a message status callback; idempotent, and never a downgrade."""
    # The form the signature check already parsed (and proved Twilio's), not a second parse.
    form = signed_form()
    new = TWILIO_STATUS.get(form.get("MessageStatus", ""))
    sid = form.get("MessageSid", "")
    if new is None or not sid:
        return Response(status=204)
    values: dict[str, object] = {"status": new}
    if new == NotificationStatus.FAILED:
        code = form.get("ErrorCode", "")
        values["last_error"] = f"Twilio reported {form['MessageStatus']}" + (
            f" (error {code})" if code else ""
        )
    # The callback URL names the row (?n=), so a receipt that beats the job's commit still lands.
    row_id = request.args.get("n", "")
    if row_id.isdigit():
        match: ColumnElement[bool] = (Notification.id == int(row_id)) & or_(
            Notification.provider_id.is_(None), Notification.provider_id == sid
        )
        values["provider_id"] = sid
    else:
        match = Notification.provider_id == sid
    # One statement, atomic on its own: sent in autocommit, one round trip instead of BEGIN,
    # UPDATE and COMMIT (a receipt comes two or more times per text), and no ORM session.
    engine: Engine = current_app.extensions["engine"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            update(Notification).where(match, Notification.status.in_(LOWER[new])).values(values)
        )
    return Response(status=204)
