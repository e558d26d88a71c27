"""Inbound email: every message as received (raw), and what the intake made of it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.enums import enum_column


class MailStatus(str, Enum):
    """Where a stored message stands: waiting for its job, or done (whatever the outcome)."""

    RECEIVED = "received"
    PROCESSED = "processed"


class MailOutcome(str, Enum):
    """What the intake did with a message."""

    TICKET = "ticket"  # PIN and sender matched, entitled: a ticket was opened
    THREADED = "threaded"  # a reply on a ticket: a conversation message
    HELD = "held"  # sender not on file (or PIN of another account): staff approve or reject
    NO_PIN = "no_pin"  # no PIN in the subject: told how to get one
    PIN_REFUSED = "pin_refused"  # unknown, expired, used or locked out
    NOT_ENTITLED = "not_entitled"  # the account has no current support
    AUTOMATIC = "automatic"  # an auto-reply, bounce or bulk mail: recorded, never answered
    RATE_LIMITED = "rate_limited"  # too many messages from this sender: recorded, not answered
    UNREADABLE = "unreadable"  # no usable sender address


class IntakeReview(str, Enum):
    """A held message's review by staff."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class InboundMail(Base):
    """One inbound message, stored before anything is done with it (the PIN digits masked)."""

    __tablename__ = "inbound_mails"
    __table_args__ = (
        Index("ix_inbound_mails_sender_received", "sender", "received_at"),
        Index("ix_inbound_mails_review", "review"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID header (made from the content's hash when missing): a redelivery is one row.
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    # "smtp" (our own server) or "mailgun" (the provider's inbound webhook).
    source: Mapped[str] = mapped_column(String(16))
    envelope_from: Mapped[str] = mapped_column(String(254), default="")
    # The From address, lower-cased: who the intake identifies.
    sender: Mapped[str] = mapped_column(String(254), default="")
    # The subject as received, with any PIN masked.
    subject: Mapped[str] = mapped_column(String(300), default="")
    # The message as received, except the PIN's digits (masked before it is written).
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)
    # The PIN in the subject as its keyed hash (as support_pins keeps it), never its digits.
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    # What the provider said about SPF and DKIM (None: our own server, nobody checked).
    spf: Mapped[str | None] = mapped_column(String(32))
    dkim: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus), default=MailStatus.RECEIVED)
    outcome: Mapped[MailOutcome | None] = mapped_column(enum_column(MailOutcome))
    # A sentence for staff: why this outcome.
    detail: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    # The account whose PIN a held message carried (it is opened there if approved).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    review: Mapped[IntakeReview | None] = mapped_column(enum_column(IntakeReview))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
