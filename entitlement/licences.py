"""Issuing and listing the user and support licences an account holds."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, Licence, LicenceKind

DEFAULT_SUPPORT_LICENCE_DAYS = 365
# Sane upper bounds: a larger figure is a typing slip (an extra digit), not a real order.
MAX_LICENCE_QUANTITY = 100_000
MAX_LICENCE_TERM_DAYS = 3_650


class LicenceError(ValueError):
    """A licence that cannot be issued as asked; the message says why."""


def issue_licence(
    session: Session,
    account: Account,
    kind: LicenceKind,
    quantity: int,
    now: datetime,
    term_days: int | None = None,
    support_licence_days: int = DEFAULT_SUPPORT_LICENCE_DAYS,
) -> Licence:
    """Add `quantity` licences of `kind`; support ones expire after their term, user ones never."""
    if quantity < 1:
        raise LicenceError(f"quantity must be at least 1, got {quantity}")
    if quantity > MAX_LICENCE_QUANTITY:
        raise LicenceError(
            f"quantity must be at most {MAX_LICENCE_QUANTITY:,}, got {quantity:,}: "
            "issue a larger order in several licences"
        )
    if term_days is not None and term_days < 1:
        raise LicenceError(f"a licence term must be at least 1 day, got {term_days}")
    if term_days is not None and term_days > MAX_LICENCE_TERM_DAYS:
        raise LicenceError(
            f"a licence term must be at most {MAX_LICENCE_TERM_DAYS:,} days (10 years), "
            f"got {term_days:,}"
        )
    if term_days is None and kind is LicenceKind.SUPPORT:
        term_days = support_licence_days
    expires_at = None if term_days is None else now + timedelta(days=term_days)
    licence = Licence(
        account=account, kind=kind, quantity=quantity, issued_at=now, expires_at=expires_at
    )
    session.add(licence)
    session.flush()
    return licence


def list_licences(session: Session, account: Account) -> list[Licence]:
    """Every licence of the account, oldest first."""
    return list(
        session.scalars(
            select(Licence)
            .where(Licence.account_id == account.id)
            .order_by(Licence.issued_at, Licence.id)
        )
    )
