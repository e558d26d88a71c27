"""The notifications outbox for managers: every SMS and email, its text and delivery state."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.security import manager_required
from dashboard.web import page_blueprint
from kernel.db import get_session
from models import Notification, NotificationStatus
from models.tickets import ticket_number
from notify.render import render

bp = page_blueprint("dashboard_outbox", __name__, url_prefix="/dashboard")

PER_PAGE = 25
MAX_PAGE = 10_000


@dataclass(frozen=True)
class OutboxRow:
    """A notification with its ticket number and the text to show."""

    notification: Notification
    ticket_number: str | None
    subject: str
    body: str
    preview: bool  # the text is rendered here because no worker has written it yet


# Messages carrying a contact's single-use sign-in link: staff must not be able to use it.
PRIVATE_LINK_KINDS = frozenset({"portal_sign_in", "portal_invite"})
HIDDEN_LINK = "[the contact's sign-in link, hidden]"


def message_text(row: Notification) -> tuple[str, str, bool]:
    """(subject, body, is_preview): the text as sent, or as the worker would render it."""
    if row.body is not None:
        return row.subject or "", _without_private_link(row, row.body), False
    try:
        message = render(row.kind, row.channel.value, dict(row.payload or {}))
    # A missing or broken template must not hide the rest of the outbox.
    except Exception:
        return "", "", True
    return message.subject, _without_private_link(row, message.body), True


def _without_private_link(row: Notification, body: str) -> str:
    link = (row.payload or {}).get("link")
    if row.kind in PRIVATE_LINK_KINDS and isinstance(link, str) and link:
        return body.replace(link, HIDDEN_LINK)
    return body


def status_counts(session: Session) -> dict[str, int]:
    """How many notifications are in each status (every status listed, zeros included)."""
    counts = dict.fromkeys((s.value for s in NotificationStatus), 0)
    for status, count in session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ):
        counts[status.value] = count
    return counts


def _page_number(value: str | None) -> int:
    try:
        return min(MAX_PAGE, max(1, int(value or 1)))
    except ValueError:
        return 1


@bp.get("/outbox")
@manager_required
def outbox() -> str:
    """Notifications newest first, filtered by status, a page at a time."""
    session = get_session()
    wanted = request.args.get("status", "")
    status = next((s for s in NotificationStatus if s.value == wanted), None)
    page = _page_number(request.args.get("page"))
    stmt = select(Notification)
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    counts = status_counts(session)
    total = counts[status.value] if status else sum(counts.values())
    pages = max(1, -(-total // PER_PAGE))
    # Past the end (an old link after rows were pruned) shows the last page, not an empty one.
    page = min(page, pages)
    found = session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    rows = [
        OutboxRow(n, ticket_number(n.ticket_id) if n.ticket_id else None, *message_text(n))
        for n in found
    ]
    return render_template(
        "dashboard/outbox.html",
        rows=rows,
        counts=counts,
        status=status.value if status else "",
        total=total,
        page=page,
        pages=pages,
    )
