"""The entitlement rule: is this account entitled to support right now, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from entitlement.licences import list_licences
from entitlement.spoken import spoken_date
from models import Account, LicenceKind


@dataclass(frozen=True)
class Entitlement:
    """The verdict, with the counts behind it and a reason a caller understands."""

    entitled: bool
    reason: str | None
    support_licences: int
    user_licences: int


def check_entitlement(session: Session, account: Account, now: datetime) -> Entitlement:
    """Entitled while current support licences are at least one and cover current user ones."""
    # Already loaded with the account when the PIN was checked: no query of its own then.
    loaded = "licences" not in sa_inspect(account).unloaded
    licences = list(account.licences) if loaded else list_licences(session, account)
    support = [lic for lic in licences if lic.kind is LicenceKind.SUPPORT]
    current_support = sum(lic.quantity for lic in support if lic.is_current(now))
    current_users = sum(
        lic.quantity for lic in licences if lic.kind is LicenceKind.USER and lic.is_current(now)
    )
    reason: str | None = None
    if current_support == 0:
        expired = [lic.expires_at for lic in support if lic.expires_at and lic.expires_at <= now]
        future = [lic.issued_at for lic in support if lic.issued_at > now]
        if expired:
            reason = f"your support licences expired on {spoken_date(max(expired))}"
        elif future:
            reason = f"your support licences start on {spoken_date(min(future))}"
        else:
            reason = "this account has no support licences"
    elif current_support < current_users:
        reason = (
            f"you have {_count(current_users, 'user licence')} but only "
            f"{current_support} current support licence{'' if current_support == 1 else 's'}"
        )
    return Entitlement(
        entitled=reason is None,
        reason=reason,
        support_licences=current_support,
        user_licences=current_users,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
