"""Dashboard users, their API tokens, sign-in attempts, the audit log and ticket conversation."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.engineers import Engineer
from models.enums import TicketStatus, enum_column
from models.tickets import Ticket


class UserRole(str, Enum):
    MANAGER = "manager"
    ENGINEER = "engineer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # A werkzeug password hash (scrypt): algorithm, salt and digest in one string.
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole))
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An IANA zone name the dashboard shows times in (None until the browser first tells it).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    engineer: Mapped[Engineer | None] = relationship()

    @property
    def is_manager(self) -> bool:
        """True for managers, who may reach every page."""
        return self.role is UserRole.MANAGER


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 (hex) of the token: tokens are long random strings, so no slow hash is needed.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: never expires (chosen when the token was made).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class DashboardSession(Base):
    """A signed-in browser: the cookie holds only a random id, whose SHA-256 is kept here."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The absolute end, fixed at sign-in; the idle limit is measured from last_seen_at.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the pages keep between requests (flash messages), never sent to the browser.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User] = relationship()


class CalendarFeed(Base):
    """A revocable calendar subscription: one engineer's shifts, or one schedule's."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 (hex) of the URL's secret, as for API tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # Who made it; the feed dies with their account.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Exactly one of these is set: an engineer's own shifts, or a whole schedule (managers).
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("engineers.id", ondelete="CASCADE"), index=True
    )
    schedule: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    engineer: Mapped[Engineer | None] = relationship()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(default=False)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text too, so the log still names the actor after the user is deleted.
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketNote(Base):
    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(200))
    # "note" (internal) or "message" (to or from the customer).
    kind: Mapped[str] = mapped_column(String(32), default="note")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()


class TicketStatusChange(Base):
    __tablename__ = "ticket_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[TicketStatus] = mapped_column(enum_column(TicketStatus))
    to_status: Mapped[TicketStatus] = mapped_column(enum_column(TicketStatus))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketFieldChange(Base):
    """A staff edit of one ticket field (severity, category, subject, description)."""

    __tablename__ = "ticket_field_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Trigram indexes make "contains" search fast on PostgreSQL; elsewhere they are plain indexes.
TICKET_SEARCH_INDEXES = [
    Index(
        f"ix_tickets_{column.key}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column.key: "gin_trgm_ops"},
    )
    for column in (
        Ticket.__table__.c.subject,
        Ticket.__table__.c.description,
        Ticket.__table__.c.contact_phone,
    )
]
Index("ix_tickets_created_id", Ticket.__table__.c.created_at, Ticket.__table__.c.id)
# The list's "Sort: severity" (S1 first, unclassified last, newest first) read in index order.
Index(
    "ix_tickets_severity_sort",
    Ticket.__table__.c.severity,
    Ticket.__table__.c.created_at.desc(),
    Ticket.__table__.c.id.desc(),
)
