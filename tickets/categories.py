"""Ticket categories: a list staff manage; tickets keep a category's code."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import TicketCategory

# A phone call opens its ticket in this category; it is never offered on the portal.
PHONE = "phone"
_CODE = re.compile(r"[^a-z0-9]+")
# What a new installation starts with (migration 0018 writes the same list).
DEFAULT_CATEGORIES = (
    (PHONE, "Phone call"),
    ("outage", "Outage"),
    ("installation", "Installation"),
    ("data_not_captured", "Data not captured"),
    ("performance", "Performance"),
    ("question", "Question"),
    ("bug", "Bug"),
    ("configuration", "Configuration"),
    ("licensing", "Licensing"),
    ("billing", "Billing"),
)


class CategoryError(ValueError):
    """A category change that cannot be made; the message says why."""


def list_categories(
    session: Session, *, active_only: bool = True, customer_only: bool = False
) -> list[TicketCategory]:
    """The categories in their display order."""
    _ensure_defaults(session)
    stmt = select(TicketCategory).order_by(TicketCategory.position, TicketCategory.id)
    if active_only:
        stmt = stmt.where(TicketCategory.active.is_(True))
    if customer_only:
        stmt = stmt.where(TicketCategory.customer_choice.is_(True))
    return list(session.scalars(stmt))


def category_codes(session: Session) -> list[str]:
    """The codes staff may set on a ticket (the active categories)."""
    return [category.code for category in list_categories(session)]


def labels(session: Session) -> dict[str, str]:
    """Every category's label by code, retired ones included (old tickets still show them)."""
    return {c.code: c.label for c in list_categories(session, active_only=False)}


def code_for(label: str) -> str:
    """The code a new category gets from its label: 'Data not captured' -> 'data_not_captured'."""
    return _CODE.sub("_", label.strip().lower()).strip("_")[:64]


def add_category(session: Session, label: str, customer_choice: bool = True) -> TicketCategory:
    """A new active category at the end of the list."""
    _ensure_defaults(session)
    label = " ".join(label.split())
    code = code_for(label)
    if not code or len(label) > 100:
        raise CategoryError("a category needs a name of 1 to 100 letters or digits")
    existing = session.scalar(select(TicketCategory).where(TicketCategory.code == code))
    if existing is not None:
        if existing.active:
            raise CategoryError(f"there is already a category {existing.label!r}")
        existing.active, existing.label, existing.customer_choice = True, label, customer_choice
        return existing
    last = session.scalar(select(func.max(TicketCategory.position))) or 0
    category = TicketCategory(
        code=code, label=label, active=True, customer_choice=customer_choice, position=last + 1
    )
    session.add(category)
    session.flush()
    return category


def set_active(session: Session, category_id: int, active: bool) -> TicketCategory:
    """Offer a category again, or stop offering it (tickets keep it)."""
    _ensure_defaults(session)
    category = session.get(TicketCategory, category_id)
    if category is None:
        raise CategoryError("no such category")
    if category.code == PHONE and not active:
        raise CategoryError("phone calls open their tickets as 'phone'; it cannot be retired")
    category.active = active
    return category


def _ensure_defaults(session: Session) -> None:
    # A database emptied by hand (or by a test) gets the defaults back rather than no choices;
    # they are kept by the caller's commit (a page that shows their ids commits).
    if session.scalar(select(TicketCategory.id).limit(1)) is not None:
        return
    try:
        with session.begin_nested():
            for position, (code, label) in enumerate(DEFAULT_CATEGORIES):
                session.add(
                    TicketCategory(
                        code=code,
                        label=label,
                        active=True,
                        customer_choice=code != PHONE,
                        position=position,
                    )
                )
    except IntegrityError:
        pass  # another request wrote them first
