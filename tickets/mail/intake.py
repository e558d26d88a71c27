"""The intake: one stored message in, one outcome out (a ticket, a conversation message, a
held message, or a reply saying why not), each answered from a template through the outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from entitlement.check import check_entitlement
from entitlement.policy import PinPolicy
from entitlement.spoken import spoken_wait
from entitlement.verify import PinCheck, grant_elevated_access, verify_mailed_pin
from kernel.config import Settings
from models import (
    Account,
    Attachment,
    Contact,
    InboundMail,
    IntakeReview,
    MailOutcome,
    MailStatus,
    MessageAuthor,
    PinOutcome,
    Ticket,
    TicketCategory,
    TicketMessage,
    TicketStatus,
)
from tickets import attachments as files
from tickets import conversation
from tickets.attachment_store import AttachmentStore
from tickets.categories import list_categories
from tickets.mail import replies
from tickets.mail.files import sort_files
from tickets.mail.message import ReadMail, read
from tickets.mail.store import MASK
from tickets.mail.thread import ticket_answered
from tickets.severity import duration_words, set_response_due, target_minutes

CHANNEL = "email"
EMAIL_CATEGORY = ("email", "Email")
MAX_DESCRIPTION = 20000
RATE_WINDOW = timedelta(hours=1)
DEFAULT_SEVERITY = 3
# What a customer writes when service is completely lost (severity 1: the phone is for that).
_DOWN = re.compile(
    r"\b(completely down|complete(?:ly)? (?:outage|loss of service|lost)|total outage|"
    r"(?:service|system|site|everything|production) is (?:completely )?down|"
    r"nothing works|down for everyone|severity[ :]*1\b|sev[ -]?1\b)",
    re.IGNORECASE,
)
_SEVERITY = re.compile(r"\b(?:severity|sev|priority)\s*[:=#-]?\s*([1-4])\b", re.IGNORECASE)
# A few keywords per category; the first category whose word appears wins.
_CATEGORY_WORDS = (
    ("outage", r"outage|\bdown\b|unavailable|not responding"),
    ("installation", r"install|upgrade|setup"),
    ("performance", r"slow|performance|latency|timeout|time out"),
    ("licensing", r"licen[cs]e|activation|entitle"),
    ("billing", r"invoice|billing|payment|refund"),
    ("configuration", r"config|setting"),
    ("data_not_captured", r"data (?:not|missing)|missing data|not captured|lost data"),
    ("bug", r"\bbug\b|\berror\b|crash|exception|stopped unexpectedly|broken"),
    ("question", r"\bhow (?:do|can|to)\b|question|\?$"),
)
_REFUSALS = {
    PinOutcome.UNKNOWN: "the PIN in your subject line was not recognised.",
    PinOutcome.EXPIRED: "that PIN has expired.",
    PinOutcome.USED: "that one-time PIN has already been used.",
}


@dataclass(frozen=True)
class IntakeConfig:
    """What the intake reads from the settings: PIN policy, limits, addresses, numbers."""

    policy: PinPolicy
    targets: tuple[tuple[int, int], ...]
    public_base_url: str
    portal_url: str
    hotline_number: str
    account_management_number: str | None
    support_addresses: tuple[str, ...]
    sender_hourly: int
    limits: files.AttachmentLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeConfig:
        """The intake's configuration from the service's settings."""
        attachments = settings.attachments
        return cls(
            policy=PinPolicy.from_settings(settings),
            targets=settings.severity_target_minutes,
            public_base_url=settings.public_base_url,
            portal_url=settings.customer_portal_url,
            hotline_number=settings.hotline_number,
            account_management_number=settings.account_management_number,
            support_addresses=settings.mail.addresses,
            sender_hourly=settings.mail.sender_hourly,
            limits=files.AttachmentLimits(
                max_bytes=attachments.max_mb * 1024 * 1024,
                max_files=attachments.max_files,
                extensions=attachments.types or files.DEFAULT_EXTENSIONS,
            ),
        )

    def links(self, ticket_id: int) -> conversation.Links:
        """Where the customer and staff read a ticket."""
        return conversation.Links(
            customer=f"{self.public_base_url}/portal/tickets/{ticket_id}",
            staff=f"{self.public_base_url}/dashboard/tickets/{ticket_id}",
        )

    def common(self) -> dict[str, Any]:
        """What every reply may mention."""
        return {
            "hotline_number": self.hotline_number,
            "portal_url": self.portal_url,
            "support_address": self.support_addresses[0],
            "account_management_number": self.account_management_number,
        }


@dataclass(frozen=True)
class Result:
    """What the intake did with one message."""

    outcome: MailOutcome | None  # None: nothing done (already processed, or no such message)
    detail: str
    ticket_id: int | None = None


def process(
    session: Session, mail_id: int, now: datetime, config: IntakeConfig, store: AttachmentStore
) -> Result:
    """Read one stored message and act on it, once; commits (files are discarded on failure)."""
    mail = session.get(InboundMail, mail_id)
    if mail is None:
        return Result(None, "no such message")
    if mail.status is not MailStatus.RECEIVED:
        return Result(None, f"already processed: {mail.outcome.value if mail.outcome else '-'}")
    saved: list[Attachment] = []
    try:
        result = _decide(session, mail, read(mail.raw), now, config, store, saved)
        # Exactly one run finishes a message: a concurrent duplicate rolls back here.
        finished = session.execute(
            update(InboundMail)
            .where(InboundMail.id == mail.id, InboundMail.status == MailStatus.RECEIVED)
            .values(
                status=MailStatus.PROCESSED,
                outcome=result.outcome,
                detail=result.detail[:2000],
                ticket_id=result.ticket_id if result.ticket_id else mail.ticket_id,
                processed_at=now,
                # Checked: even the PIN's hash need not be kept any longer.
                pin_hash=None,
            )
        )
        if _rowcount(finished) != 1:
            session.rollback()
            files.discard(store, saved)
            return Result(None, "processed by a concurrent run")
        session.commit()
    except Exception:
        session.rollback()
        files.discard(store, saved)
        raise
    return result


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _decide(
    session: Session,
    mail: InboundMail,
    mail_read: ReadMail,
    now: datetime,
    config: IntakeConfig,
    store: AttachmentStore,
    saved: list[Attachment],
) -> Result:
    if mail_read.automatic is not None:
        return Result(MailOutcome.AUTOMATIC, f"not answered: {mail_read.automatic}")
    if mail.source == "smtp" and mail.envelope_from.strip() in ("", "<>"):
        # RFC 3834 and RFC 5321: bounces and many auto-replies come from the null sender.
        return Result(MailOutcome.AUTOMATIC, "not answered: empty envelope sender (a bounce)")
    if not mail_read.sender:
        return Result(MailOutcome.UNREADABLE, "no sender address in From")
    if mail_read.sender in config.support_addresses:
        return Result(MailOutcome.AUTOMATIC, "not answered: sent from our own support address")
    recent = session.scalar(
        select(func.count())
        .select_from(InboundMail)
        .where(
            InboundMail.sender == mail_read.sender,
            InboundMail.received_at > now - RATE_WINDOW,
            InboundMail.id < mail.id,
        )
    )
    if (recent or 0) >= config.sender_hourly:
        return Result(
            MailOutcome.RATE_LIMITED,
            f"more than {config.sender_hourly} messages from this sender in an hour; not answered",
        )

    ticket = ticket_answered(session, mail_read.subject, mail_read.in_reply_to)
    if ticket is not None and ticket.account is not None:
        contact = contact_of(ticket.account, mail_read.sender)
        forged = _failed_sender_checks(mail)
        if contact is not None and not forged:
            return _thread(session, mail, mail_read, ticket, contact, now, config, store, saved)
        mail.ticket_id, mail.account_id, mail.review = (
            ticket.id,
            ticket.account_id,
            IntakeReview.PENDING,
        )
        why = "this address is not registered on the account"
        if contact is not None:
            why = "the receiving provider could not confirm it came from this address"
        return _hold(session, mail, now, config, why)

    if mail.pin_hash is None and MASK not in mail.subject:
        replies.queue_reply(session, mail, replies.NO_PIN, now, config.common())
        return Result(MailOutcome.NO_PIN, "no PIN in the subject: told how to get one")
    check = verify_mailed_pin(session, mail.pin_hash, mail_read.sender, now, config.policy)
    if not check.ok or check.account is None:
        reason = _refusal(check, now)
        replies.queue_reply(
            session, mail, replies.PIN_REFUSED, now, {**config.common(), "reason": reason}
        )
        return Result(MailOutcome.PIN_REFUSED, f"PIN {check.outcome.value}: {reason}")
    account = check.account
    contact = contact_of(account, mail_read.sender)
    if contact is None:
        mail.account_id, mail.review = account.id, IntakeReview.PENDING
        return _hold(
            session,
            mail,
            now,
            config,
            "this address is not registered on the account",
        )
    entitlement = check_entitlement(session, account, now)
    if not entitlement.entitled:
        reason = entitlement.reason or "the account has no current support"
        replies.queue_reply(
            session,
            mail,
            replies.NOT_ENTITLED,
            now,
            {**config.common(), "reason": reason, "account": account.name},
        )
        return Result(MailOutcome.NOT_ENTITLED, f"not entitled: {reason}")
    ticket, down = open_email_ticket(
        session, account, contact, mail, mail_read, now, config, store, saved, check
    )
    kind = replies.DOWN if down else replies.TICKET_OPENED
    replies.queue_reply(
        session,
        mail,
        kind,
        now,
        {**config.common(), **ticket_context(session, ticket, config, contact.name)},
        ticket_id=ticket.id,
    )
    return Result(
        MailOutcome.TICKET,
        f"ticket {ticket.number} opened" + (" (says down)" if down else ""),
        ticket.id,
    )


def contact_of(account: Account, address: str) -> Contact | None:
    """The account's contact with this email address, if any."""
    return next((c for c in account.contacts if (c.email or "").strip().lower() == address), None)


def _refusal(check: PinCheck, now: datetime) -> str:
    if check.outcome is PinOutcome.LOCKED_OUT:
        wait = spoken_wait((check.locked_until or now + timedelta(minutes=1)) - now)
        return (
            "there have been too many wrong PINs from this address or for your company. "
            f"Please try again in {wait}."
        )
    return _REFUSALS.get(check.outcome, "the PIN in your subject line was not recognised.")


def _failed_sender_checks(mail: InboundMail) -> bool:
    """True when the provider checked the From address (SPF, DKIM) and no check passed.

    A reply joins a ticket on the number in its subject and an address on file, as the
    support policy says; a From line is easily forged, so one the provider saw fail is held.
    """
    results = [r.strip().lower() for r in (mail.spf, mail.dkim) if r]
    return (
        bool(results) and "pass" not in results and any(r in ("fail", "softfail") for r in results)
    )


def _hold(
    session: Session, mail: InboundMail, now: datetime, config: IntakeConfig, reason: str
) -> Result:
    replies.queue_reply(session, mail, replies.HELD, now, {**config.common(), "reason": reason})
    return Result(MailOutcome.HELD, f"held for staff: {reason}", mail.ticket_id)


def _thread(
    session: Session,
    mail: InboundMail,
    mail_read: ReadMail,
    ticket: Ticket,
    contact: Contact,
    now: datetime,
    config: IntakeConfig,
    store: AttachmentStore,
    saved: list[Attachment],
) -> Result:
    sorted_files = sort_files(mail_read.attachments, config.limits)
    body = _with_refusals(mail_read.text or "(no text)", sorted_files.refused)
    message = conversation.add_message(
        session,
        ticket,
        conversation.Author.customer(contact),
        body[: conversation.MAX_MESSAGE_LENGTH],
        CHANNEL,
        now,
        config.links(ticket.id),
    )
    saved += files.store_uploads(session, store, ticket, sorted_files.kept, now, message=message)
    return Result(MailOutcome.THREADED, f"added to {ticket.number}", ticket.id)


def _with_refusals(text: str, refused: list[str]) -> str:
    if not refused:
        return text
    return text + "\n\n[Attachments not kept: " + "; ".join(refused) + "]"


def clean_subject(subject: str) -> str:
    """The subject without the PIN (the masked place) and its separators."""
    return " ".join(subject.replace(MASK, " ").split()).strip(" -:")[:300]


def severity_of(text: str) -> tuple[int, bool]:
    """(severity, says down): severity 1 when service is said to be completely down, else the
    severity stated, else 3."""
    if _DOWN.search(text):
        return 1, True
    stated = _SEVERITY.search(text)
    return (int(stated.group(1)), False) if stated else (DEFAULT_SEVERITY, False)


def category_of(text: str) -> str:
    """The category a few keywords suggest, else "email"."""
    for code, words in _CATEGORY_WORDS:
        if re.search(words, text, re.IGNORECASE | re.MULTILINE):
            return code
    return EMAIL_CATEGORY[0]


def _ensure_category(session: Session, code: str) -> str:
    """`code` when it is an active category, else "email" (made if a database lacks it)."""
    codes = {c.code for c in list_categories(session)}
    if code in codes:
        return code
    email_code, label = EMAIL_CATEGORY
    if session.scalar(select(TicketCategory.id).where(TicketCategory.code == email_code)) is None:
        # A database made without migration 0021's row (or emptied by hand) gets it back.
        session.add(
            TicketCategory(
                code=email_code, label=label, active=True, customer_choice=False, position=100
            )
        )
        session.flush()
    return email_code


def open_email_ticket(
    session: Session,
    account: Account,
    contact: Contact | None,
    mail: InboundMail,
    mail_read: ReadMail,
    now: datetime,
    config: IntakeConfig,
    store: AttachmentStore,
    saved: list[Attachment],
    check: PinCheck | None = None,
) -> tuple[Ticket, bool]:
    """A ticket from an email (channel email), its first conversation message and files."""
    subject = (
        clean_subject(mail.subject)
        or (mail_read.text.strip().splitlines() or ["(no subject)"])[0][:300]
    )
    text = f"{subject}\n{mail_read.text}"
    severity, down = severity_of(text)
    sorted_files = sort_files(mail_read.attachments, config.limits)
    description = _with_refusals(mail_read.text or "(no text)", sorted_files.refused)[
        :MAX_DESCRIPTION
    ]
    words = text.lower()
    product = next(
        (p for p in account.products if p.code.lower() in words or p.name.lower() in words), None
    )
    ticket = Ticket(
        account_id=account.id,
        product=product,
        contact_id=contact.id if contact else None,
        contact_name=contact.name if contact else (mail_read.sender_name or mail_read.sender),
        contact_phone=contact.phone if contact else None,
        severity=severity,
        category=_ensure_category(session, category_of(text)),
        subject=subject,
        description=description,
        status=TicketStatus.OPEN,
        channel=CHANNEL,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    set_response_due(ticket, dict(config.targets), severity, now)
    if check is not None:
        grant_elevated_access(ticket, check)
    # The email itself opens the conversation, so staff read it where replies will follow.
    message = TicketMessage(
        ticket_id=ticket.id,
        author_kind=MessageAuthor.CUSTOMER,
        contact_id=contact.id if contact else None,
        author_name=(contact.name if contact else mail_read.sender_name or mail_read.sender)[:200],
        channel=CHANNEL,
        body=description[: conversation.MAX_MESSAGE_LENGTH],
        created_at=now,
    )
    session.add(message)
    session.flush()
    saved += files.store_uploads(session, store, ticket, sorted_files.kept, now, message=message)
    mail.ticket_id = ticket.id
    if contact is not None:
        conversation.notify_new_ticket(session, ticket, contact, now, config.links(ticket.id).staff)
    return ticket, down


def ticket_context(
    session: Session, ticket: Ticket, config: IntakeConfig, name: str | None
) -> dict[str, Any]:
    """What the replies about a ticket say."""
    labels = {
        row.code: row.label
        for row in session.execute(select(TicketCategory.code, TicketCategory.label))
    }
    return {
        "ticket": ticket.number,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "category": labels.get(ticket.category, ticket.category),
        "contact_name": name,
        "response_target": duration_words(target_minutes(dict(config.targets), ticket.severity)),
        "link": config.links(ticket.id).customer,
    }
