"""The entitlement rule: is this account entitled to support right now, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from entitlement.licences import list_licences
from entitlement.spoken import spoken_date
from models import Account, LicenceKind
from notify.languages import primary


class Why(str, Enum):
    """What an account's refusal is about (so the reason can be said in any language)."""

    EXPIRED = "expired"
    NOT_STARTED = "not_started"
    NO_LICENCES = "no_licences"
    TOO_FEW = "too_few"


@dataclass(frozen=True)
class Entitlement:
    """The verdict, with the counts behind it and a reason a caller understands."""

    entitled: bool
    reason: str | None
    support_licences: int
    user_licences: int
    why: Why | None = None
    # The date the reason names (licences expired or starting), if any.
    on: datetime | None = None


def explain(verdict: Entitlement, language: str | None = None) -> str | None:
    """The verdict's reason in the caller's language (`reason` is the English one, for staff)."""
    if primary(language) != "de" or verdict.why is None:
        return verdict.reason
    on = spoken_date(verdict.on, "de") if verdict.on else ""
    if verdict.why is Why.EXPIRED:
        return f"Ihre Support-Lizenzen sind am {on} abgelaufen"
    if verdict.why is Why.NOT_STARTED:
        return f"Ihre Support-Lizenzen beginnen erst am {on}"
    if verdict.why is Why.NO_LICENCES:
        return "dieses Konto hat keine Support-Lizenzen"
    users = (
        "eine Benutzerlizenz"
        if verdict.user_licences == 1
        else (f"{verdict.user_licences} Benutzerlizenzen")
    )
    support = (
        "eine gültige Support-Lizenz"
        if verdict.support_licences == 1
        else (f"{verdict.support_licences} gültige Support-Lizenzen")
    )
    return f"Sie haben {users}, aber nur {support}"


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
    why: Why | None = None
    on: datetime | None = None
    if current_support == 0:
        expired = [lic.expires_at for lic in support if lic.expires_at and lic.expires_at <= now]
        future = [lic.issued_at for lic in support if lic.issued_at > now]
        if expired:
            why, on = Why.EXPIRED, max(expired)
            reason = f"your support licences expired on {spoken_date(on)}"
        elif future:
            why, on = Why.NOT_STARTED, min(future)
            reason = f"your support licences start on {spoken_date(on)}"
        else:
            why = Why.NO_LICENCES
            reason = "this account has no support licences"
    elif current_support < current_users:
        why = Why.TOO_FEW
        reason = (
            f"you have {_count(current_users, 'user licence')} but only "
            f"{current_support} current support licence{'' if current_support == 1 else 's'}"
        )
    return Entitlement(
        entitled=reason is None,
        reason=reason,
        support_licences=current_support,
        user_licences=current_users,
        why=why,
        on=on,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
