"""Tickets, the calls behind them and each call's timeline of events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import Account, Product
from models.base import Base, UTCDateTime, utcnow
from models.enums import CallOutcome, CallState, PinKind, TicketOutcome, TicketStatus, enum_column

TICKET_PREFIX = "HL-"
_TICKET_NUMBER = re.compile(r"^\s*(?:HL-?)?0*(\d{1,12})\s*$", re.IGNORECASE)


def ticket_number(ticket_id: int) -> str:
    """The human ticket number for a ticket id, e.g. HL-000123."""
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def parse_ticket_number(text: str) -> int | None:
    """The ticket id in a human ticket number ("HL-000123", "hl123", "123"), else None."""
    match = _TICKET_NUMBER.match(text)
    return int(match.group(1)) if match else None


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    # The contact who opened it on the portal (or by email); phone tickets name the caller only.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(64), index=True)
    severity: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64), default="phone")
    # How it came in: "phone", "portal" or "email" (None: before channels were recorded).
    channel: Mapped[str | None] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TicketStatus] = mapped_column(
        enum_column(TicketStatus), default=TicketStatus.OPEN
    )
    outcome: Mapped[TicketOutcome | None] = mapped_column(enum_column(TicketOutcome))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    # Who owns the ticket: a dashboard user, an engineer (who accepted a call by phone), or both
    # when the user is that engineer's login.
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    assignee_engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("engineers.id", ondelete="SET NULL"), index=True
    )
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    # Set when the caller used a privileged PIN: support staff may see more data until then.
    elevated_access_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Support responds to a severity 2-4 message by then (the severity's response target).
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account | None] = relationship()
    product: Mapped[Product | None] = relationship()
    calls: Mapped[list[Call]] = relationship(back_populates="ticket", order_by="Call.id")
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="ticket", order_by="(CallEvent.at, CallEvent.id)"
    )

    @property
    def number(self) -> str:
        """The number callers and managers quote, e.g. HL-000123."""
        return ticket_number(self.id)


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(32), default="inbound")
    from_number: Mapped[str] = mapped_column(String(64), default="")
    to_number: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(32), default="in-progress")
    # Where the call stands: each webhook accepts only some states, and a hang-up leaves the
    # ticket abandoned at this one. Changed only under the row lock a conditional UPDATE takes.
    state: Mapped[CallState] = mapped_column(enum_column(CallState), default=CallState.PIN)
    # Bumped by every step the caller's webhooks take, and carried in the URLs of the prompts we
    # answer with: a replayed or stale request names an old turn and changes nothing.
    turn: Mapped[int] = mapped_column(Integer, default=0)
    # Facts several states can be reached with or without: the account whose PIN was accepted
    # (texts and ringing are owed only then), and when the account was found entitled.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    pin_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entitled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language tag of the caller's prompts (the number called picks it; 9 at the greeting
    # switches to the one it offers); None is the hotline's default, English.
    language: Mapped[str | None] = mapped_column(String(16))
    menu_mistakes: Mapped[int] = mapped_column(Integer, default=0)
    silent_prompts: Mapped[int] = mapped_column(Integer, default=0)
    # Twilio's I-Twilio-Idempotency-Token of the last webhook and our reply: a retry gets the
    # same answer instead of running the step twice.
    last_webhook_token: Mapped[str | None] = mapped_column(String(128))
    last_reply: Mapped[str | None] = mapped_column(Text)
    # Ringing engineers: the escalation steps frozen when severity 1 was chosen, the step being
    # rung and since when, and the attempt that won the caller (set once, atomically).
    ring_plan: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    ring_step: Mapped[int | None] = mapped_column(Integer)
    ring_step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_attempt_id: Mapped[int | None] = mapped_column(Integer)
    # This call's own record, whichever ticket it joined: the product it chose (and is rung
    # for), its PIN's kind and the elevated access a privileged PIN granted, how it ended,
    # who answered, when the first engineer phone rang and when an engineer took the caller.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    pin_kind: Mapped[PinKind | None] = mapped_column(enum_column(PinKind))
    elevated_access_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[CallOutcome | None] = mapped_column(enum_column(CallOutcome))
    answered_by: Mapped[str | None] = mapped_column(String(200), index=True)
    first_ring_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    ticket: Mapped[Ticket] = relationship(back_populates="calls")
    product: Mapped[Product | None] = relationship()

    @property
    def seconds_to_first_ring(self) -> int | None:
        """Seconds from the call's start to the first engineer phone ringing."""
        return _seconds(self.started_at, self.first_ring_at)

    @property
    def seconds_to_connect(self) -> int | None:
        """Seconds from the call's start to an engineer taking the caller."""
        return _seconds(self.started_at, self.connected_at)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


class CallEvent(Base):
    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
