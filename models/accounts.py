"""Customer accounts, their contacts, products and licences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.enums import LicenceKind, enum_column

account_products = Table(
    "account_products",
    Base.metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The customer's time zone for dates in their messages; None: the hotline's (HOTLINE_TIMEZONE).
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.id"
    )
    licences: Mapped[list[Licence]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Licence.id"
    )
    products: Mapped[list[Product]] = relationship(
        secondary=account_products, back_populates="accounts", order_by="Product.id"
    )

    def technical_contact(self) -> Contact | None:
        """The contact to reach about tickets: the technical one, else the first."""
        technical = [c for c in self.contacts if c.is_technical]
        candidates = technical or self.contacts
        return candidates[0] if candidates else None


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    is_technical: Mapped[bool] = mapped_column(default=True)

    account: Mapped[Account] = relationship(back_populates="contacts")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    accounts: Mapped[list[Account]] = relationship(
        secondary=account_products, back_populates="products"
    )


class Licence(Base):
    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[LicenceKind] = mapped_column(enum_column(LicenceKind))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None means the licence never expires (perpetual user licences).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(back_populates="licences")

    def is_current(self, now: datetime) -> bool:
        """True while the licence has been issued and has not yet expired at `now`."""
        return self.issued_at <= now and (self.expires_at is None or now < self.expires_at)
