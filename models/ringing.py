"""Ringing engineers for a call: one row per engineer phone rung, and how it ended."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.enums import enum_column
from models.tickets import Call


class AttemptStatus(str, Enum):
    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    ACCEPTED = "accepted"
    PASSED = "passed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    CANCELLED = "cancelled"


OUTSTANDING = (AttemptStatus.QUEUED, AttemptStatus.RINGING, AttemptStatus.ANSWERED)


class RingAttempt(Base):
    __tablename__ = "ring_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id", ondelete="SET NULL"))
    engineer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer, default=20)
    status: Mapped[AttemptStatus] = mapped_column(
        enum_column(AttemptStatus), default=AttemptStatus.QUEUED
    )
    # The engineer leg's CallSid, once Twilio accepted the REST request.
    leg_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ringing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship()
