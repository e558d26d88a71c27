"""The customer portal: contacts' sign-in, ticket categories, conversations and attachments."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.accounts import Contact
from models.base import Base, UTCDateTime, utcnow
from models.enums import enum_column
from models.tickets import Ticket


class PortalUser(Base):
    """A contact's access to the portal: invited by staff, switched off by staff."""

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    # The account's admin contacts: they may show, renew and clear the account's PINs.
    can_manage_pins: Mapped[bool] = mapped_column(default=False)
    # Optional, set by the contact after a link sign-in (werkzeug scrypt hash).
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact] = relationship()


class PortalSignInLink(Base):
    """A one-time sign-in link: the URL carries a random secret, only its SHA-256 is kept."""

    __tablename__ = "portal_sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    portal_user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(Base):
    """A signed-in contact's browser; separate from staff sessions (own table and cookie)."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    portal_user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    portal_user: Mapped[PortalUser] = relationship()


class TicketCategory(Base):
    """A category staff offer for tickets; tickets keep the code, so renaming is safe."""

    __tablename__ = "ticket_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    # Retired categories stay on old tickets but are no longer offered.
    active: Mapped[bool] = mapped_column(default=True)
    # Offered to customers on the portal's form (staff-only ones, like "phone", are not).
    customer_choice: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MessageAuthor(str, Enum):
    CUSTOMER = "customer"
    STAFF = "staff"


class TicketMessage(Base):
    """One message of a ticket's conversation with the customer, from any channel."""

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[MessageAuthor] = mapped_column(enum_column(MessageAuthor))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text so the conversation still names the author after they are deleted.
    author_name: Mapped[str] = mapped_column(String(200))
    # Where it was written: "portal", "dashboard", "email".
    channel: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id"
    )


class Attachment(Base):
    """A file on a ticket; the bytes live in the attachment store under `storage_key`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[TicketMessage | None] = relationship(back_populates="attachments")


# The portal lists one account's tickets newest first: one index walk, whatever the volume.
Index(
    "ix_tickets_account_created",
    Ticket.__table__.c.account_id,
    Ticket.__table__.c.created_at,
    Ticket.__table__.c.id,
)
