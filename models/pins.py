"""Support PINs (stored only as keyed hashes) and every attempt to use one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import Account
from models.base import Base, UTCDateTime, utcnow
from models.enums import PinKind, PinOutcome, enum_column


class SupportPin(Base):
    __tablename__ = "support_pins"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PinKind] = mapped_column(enum_column(PinKind))
    # HMAC-SHA256 (hex) of the digits under PIN_PEPPER: one indexed equality finds a PIN.
    pin_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The digits sealed (Fernet, keyed from PIN_PEPPER) so the customer portal can show them
    # again on request; never the digits in clear. None for PINs made before sealing existed.
    sealed: Mapped[str | None] = mapped_column(String(200))

    account: Mapped[Account] = relationship()


class PinAttempt(Base):
    __tablename__ = "pin_attempts"
    __table_args__ = (Index("ix_pin_attempts_caller_at", "caller_number", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    caller_number: Mapped[str] = mapped_column(String(64))
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[PinOutcome] = mapped_column(enum_column(PinOutcome))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    pin_id: Mapped[int | None] = mapped_column(ForeignKey("support_pins.id", ondelete="SET NULL"))


class PinLockout(Base):
    """A caller number's or account's lockouts: how many in a row and until when."""

    __tablename__ = "pin_lockouts"

    # "number:+441632960001" or "account:42".
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    strikes: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime)
