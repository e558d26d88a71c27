"""The automatic replies: one template per outcome, queued in the outbox, in the sender's thread."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import InboundMail, NotificationChannel
from notify.outbox import add_notification

TICKET_OPENED = "mail_ticket_opened"
DOWN = "mail_down"
HELD = "mail_held"
NO_PIN = "mail_no_pin"
PIN_REFUSED = "mail_pin_refused"
NOT_ENTITLED = "mail_not_entitled"
APPROVED = "mail_approved"
REJECTED = "mail_rejected"


def thread_headers(
    message_id: str, references: tuple[str, ...] = (), auto: bool = True
) -> dict[str, str]:
    """Headers that put our message in the sender's thread (RFC 5322), marked automatic
    (RFC 3834) so that their own auto-responder stays quiet."""
    chain = [*references[-8:], message_id] if message_id not in references else list(references)
    headers = {"In-Reply-To": message_id, "References": " ".join(chain)}
    if auto:
        headers["Auto-Submitted"] = "auto-replied"
    return headers


def queue_reply(
    session: Session,
    mail: InboundMail,
    kind: str,
    now: datetime,
    context: dict[str, Any],
    ticket_id: int | None = None,
) -> bool:
    """Queue the reply of `kind` to the message's sender, once per message and kind."""
    payload = {
        "original_subject": mail.subject or "(no subject)",
        "mail_headers": thread_headers(mail.message_id),
        **context,
    }
    return add_notification(
        session,
        kind=kind,
        channel=NotificationChannel.EMAIL,
        recipient=mail.sender,
        payload=payload,
        now=now,
        dedupe_key=f"{kind}:{mail.id}",
        ticket_id=ticket_id,
    )
