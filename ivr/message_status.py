"""Twilio's message status callbacks: delivered or failed, recorded on the notification."""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import ColumnElement, or_, update

from kernel.db import get_session
from kernel.signatures import twilio_signed
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
    new = TWILIO_STATUS.get(request.form.get("MessageStatus", ""))
    sid = request.form.get("MessageSid", "")
    if new is None or not sid:
        return Response(status=204)
    lower = [s for s, rank in RANK.items() if rank < RANK[new]]
    values: dict[str, object] = {"status": new}
    if new == NotificationStatus.FAILED:
        code = request.form.get("ErrorCode", "")
        values["last_error"] = f"Twilio reported {request.form['MessageStatus']}" + (
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
    session = get_session()
    session.execute(
        update(Notification).where(match, Notification.status.in_(lower)).values(values)
    )
    session.commit()
    return Response(status=204)
