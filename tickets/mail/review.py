"""Staff review of held messages: approve (a ticket, or a message on the ticket it answers) or
reject; either way the sender hears back by email."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement.check import check_entitlement
from models import (
    Account,
    Attachment,
    InboundMail,
    IntakeReview,
    MessageAuthor,
    Ticket,
)
from tickets import attachments as files
from tickets import conversation
from tickets.attachment_store import AttachmentStore
from tickets.mail import replies
from tickets.mail.files import sort_files
from tickets.mail.intake import CHANNEL, IntakeConfig, open_email_ticket, ticket_context
from tickets.mail.message import ReadMail, read

# Held messages shown at once: each is read from its raw form (up to the size limit).
PAGE = 25

log = logging.getLogger(__name__)


class ReviewError(ValueError):
    """A review that cannot be done; the message says why, for staff."""


@dataclass(frozen=True)
class HeldMail:
    """A held message as staff review it: text made plain, PIN masked."""

    mail: InboundMail
    account: Account | None
    ticket: Ticket | None
    sender_name: str
    text: str
    files: list[str]


def held(session: Session) -> list[HeldMail]:
    """Messages waiting for review, oldest first."""
    rows = session.scalars(
        select(InboundMail)
        .where(InboundMail.review == IntakeReview.PENDING)
        .order_by(InboundMail.received_at, InboundMail.id)
        .limit(PAGE)
    ).all()
    return [_held(session, row) for row in rows]


def recent(session: Session, limit: int = 50) -> list[InboundMail]:
    """The latest messages received, whatever their outcome (the intake's log)."""
    return list(
        session.scalars(select(InboundMail).order_by(InboundMail.id.desc()).limit(limit)).all()
    )


def _held(session: Session, row: InboundMail) -> HeldMail:
    try:
        mail = read(row.raw)
    except Exception:  # one unreadable message must not take the whole queue page down
        log.exception("held mail %s could not be read", row.id)
        return HeldMail(
            mail=row, account=None, ticket=None, sender_name="",
            text="(this message could not be read)", files=[],
        )  # fmt: skip
    return HeldMail(
        mail=row,
        account=session.get(Account, row.account_id) if row.account_id else None,
        ticket=session.get(Ticket, row.ticket_id) if row.ticket_id else None,
        sender_name=mail.sender_name,
        text=mail.text[:20000],
        files=[upload.filename for upload in mail.attachments],
    )


def _pending(session: Session, mail_id: int) -> InboundMail:
    # Locked until the caller commits: two staff approving at once open one ticket, not two.
    row = session.get(InboundMail, mail_id, with_for_update=True)
    if row is None or row.review is not IntakeReview.PENDING:
        raise ReviewError("this message is not waiting for review (someone may have done it)")
    return row


def approve(
    session: Session,
    mail_id: int,
    reviewer: str,
    now: datetime,
    config: IntakeConfig,
    store: AttachmentStore,
) -> Ticket:
    """Open the ticket (or add to the one it answers) as if the sender were on file; the caller
    commits, and on failure discards `store`'s new files (see tickets.attachments.discard)."""
    row = _pending(session, mail_id)
    mail = read(row.raw)
    name = mail.sender_name or mail.sender
    saved: list[Attachment] = []
    try:
        ticket = _approve(session, row, mail, name, now, config, store, saved)
    except Exception:
        files.discard(store, saved)
        raise
    row.review, row.reviewed_by, row.reviewed_at = IntakeReview.APPROVED, reviewer[:200], now
    row.ticket_id = ticket.id
    return ticket


def _approve(
    session: Session,
    row: InboundMail,
    mail: ReadMail,
    name: str,
    now: datetime,
    config: IntakeConfig,
    store: AttachmentStore,
    saved: list[Attachment],
) -> Ticket:
    if row.ticket_id is not None:
        ticket = session.get(Ticket, row.ticket_id)
        if ticket is None:
            raise ReviewError("the ticket this message answers no longer exists")
        sorted_files = sort_files(mail.attachments, config.limits)
        message = conversation.add_message(
            session,
            ticket,
            conversation.Author(MessageAuthor.CUSTOMER, f"{name} (approved)"[:200]),
            (mail.text or "(no text)")[: conversation.MAX_MESSAGE_LENGTH],
            CHANNEL,
            now,
            config.links(ticket.id),
        )
        saved += files.store_uploads(session, store, ticket, sorted_files.kept, now, message)
    else:
        account = session.get(Account, row.account_id) if row.account_id else None
        if account is None:
            raise ReviewError("the account whose PIN this message carried no longer exists")
        entitlement = check_entitlement(session, account, now)
        if not entitlement.entitled:
            raise ReviewError(f"{account.name} is not entitled to support: {entitlement.reason}")
        ticket, _down = open_email_ticket(
            session, account, None, row, mail, now, config, store, saved
        )
        conversation.notify_staff_of_ticket(
            session, ticket, name, now, config.links(ticket.id).staff
        )
        replies.queue_reply(
            session,
            row,
            replies.APPROVED,
            now,
            {**config.common(), **ticket_context(session, ticket, config, name)},
            ticket_id=ticket.id,
        )
    return ticket


def reject(
    session: Session, mail_id: int, reviewer: str, now: datetime, config: IntakeConfig
) -> None:
    """Refuse a held message; the sender is told why; the caller commits."""
    row = _pending(session, mail_id)
    row.review, row.reviewed_by, row.reviewed_at = IntakeReview.REJECTED, reviewer[:200], now
    replies.queue_reply(session, row, replies.REJECTED, now, config.common())
