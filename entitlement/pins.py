"""Making support PINs: generated here, shown once, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from entitlement.sealing import seal
from models import Account, PinKind, SupportPin

# A privileged PIN is hashed with this prefix, so its digits typed without '*' match nothing.
PRIVILEGED_PREFIX = "p"
_MAX_GENERATION_TRIES = 20


class PinError(ValueError):
    """A PIN operation that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class IssuedPin:
    """A PIN just made: `display` is the only place its digits ever exist."""

    pin: SupportPin
    # Left out of repr so logging an IssuedPin cannot leak the digits.
    display: str = field(repr=False)

    @property
    def keypad_entry(self) -> str:
        """What the caller types: the digits, with '*' first for a privileged PIN."""
        if self.display.startswith(PRIVILEGED_PREFIX):
            return "*" + self.display[len(PRIVILEGED_PREFIX) :]
        return self.display


@dataclass(frozen=True)
class PinSummary:
    """A PIN as managers see it: kind, status and dates, never digits."""

    id: int
    kind: PinKind
    status: str
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    cleared_at: datetime | None


def hash_pin(policy: PinPolicy, digits: str, privileged: bool) -> str:
    """The HMAC-SHA256 (hex) under the pepper that a PIN is stored and looked up by."""
    message = (PRIVILEGED_PREFIX + digits) if privileged else digits
    return hmac.new(policy.pepper.encode(), message.encode(), hashlib.sha256).hexdigest()


def issue_pin(
    session: Session,
    account: Account,
    kind: PinKind,
    now: datetime,
    policy: PinPolicy,
    expires_in: timedelta | None = None,
) -> IssuedPin:
    """A new PIN of `kind` for the account; a privileged one always lives the policy's lifetime."""
    if kind is PinKind.STANDING and _active_pins(session, account, now, PinKind.STANDING):
        raise PinError(f"{account.name} already has a standing PIN; renew it to replace it")
    return _make_pin(session, account, kind, now, policy, expires_in)


def renew_standing_pin(
    session: Session,
    account: Account,
    now: datetime,
    policy: PinPolicy,
    expires_in: timedelta | None = None,
) -> IssuedPin:
    """A new standing PIN; the old one stops working in the same transaction."""
    for pin in _active_pins(session, account, now, PinKind.STANDING):
        pin.cleared_at = now
    return _make_pin(session, account, PinKind.STANDING, now, policy, expires_in)


def clear_pins(
    session: Session,
    account: Account,
    now: datetime,
    kinds: tuple[PinKind, ...] = (PinKind.STANDING,),
) -> list[SupportPin]:
    """Stop the account's working PINs of these kinds at once; returns those cleared."""
    cleared = _active_pins(session, account, now, *kinds)
    for pin in cleared:
        pin.cleared_at = now
    session.flush()
    return cleared


def clear_standing_pin(session: Session, account: Account, now: datetime) -> SupportPin:
    """Clear the account's standing PIN, or PinError when it has none working."""
    cleared = clear_pins(session, account, now, (PinKind.STANDING,))
    if not cleared:
        raise PinError(f"{account.name} has no working standing PIN to clear")
    return cleared[0]


def list_pins(session: Session, account: Account, now: datetime) -> list[PinSummary]:
    """Every PIN the account has had, newest first, with its status at `now`."""
    pins = session.scalars(
        select(SupportPin)
        .where(SupportPin.account_id == account.id)
        .order_by(SupportPin.created_at.desc(), SupportPin.id.desc())
    )
    return [
        PinSummary(
            id=pin.id,
            kind=pin.kind,
            status=pin_status(pin, now),
            created_at=pin.created_at,
            expires_at=pin.expires_at,
            used_at=pin.used_at,
            cleared_at=pin.cleared_at,
        )
        for pin in pins
    ]


def pin_status(pin: SupportPin, now: datetime) -> str:
    """'cleared', 'used', 'expired' or 'active'."""
    if pin.cleared_at is not None:
        return "cleared"
    if pin.kind is PinKind.ONE_TIME and pin.used_at is not None:
        return "used"
    if pin.expires_at is not None and pin.expires_at <= now:
        return "expired"
    return "active"


def _make_pin(
    session: Session,
    account: Account,
    kind: PinKind,
    now: datetime,
    policy: PinPolicy,
    expires_in: timedelta | None,
) -> IssuedPin:
    if kind is PinKind.PRIVILEGED:
        if expires_in is not None:
            raise PinError("a privileged PIN always lives 24 hours; it takes no other expiry")
        expires_in = policy.privileged_lifetime
    if expires_in is not None and expires_in <= timedelta(0):
        raise PinError("a PIN's expiry must be in the future")
    privileged = kind is PinKind.PRIVILEGED
    for _ in range(_MAX_GENERATION_TRIES):
        count = policy.privileged_digits if privileged else policy.length
        digits = "".join(secrets.choice("0123456789") for _ in range(count))
        digest = hash_pin(policy, digits, privileged)
        # The hash column is unique (even for spent PINs), so draw again on the rare collision.
        if session.scalar(select(SupportPin.id).where(SupportPin.pin_hash == digest)) is None:
            break
    else:
        raise PinError("could not draw an unused PIN; make PINs longer (PIN_LENGTH)")
    pin = SupportPin(
        account=account,
        kind=kind,
        pin_hash=digest,
        created_at=now,
        expires_at=None if expires_in is None else now + expires_in,
    )
    display = (PRIVILEGED_PREFIX + digits) if privileged else digits
    pin.sealed = seal(policy, display)
    session.add(pin)
    session.flush()
    return IssuedPin(pin=pin, display=display)


def _active_pins(
    session: Session, account: Account, now: datetime, *kinds: PinKind
) -> list[SupportPin]:
    return list(
        session.scalars(
            select(SupportPin).where(
                SupportPin.account_id == account.id,
                SupportPin.kind.in_(kinds),
                SupportPin.cleared_at.is_(None),
                or_(SupportPin.expires_at.is_(None), SupportPin.expires_at > now),
                or_(SupportPin.kind != PinKind.ONE_TIME, SupportPin.used_at.is_(None)),
            )
        )
    )


def working_pin(
    session: Session, account: Account, kind: PinKind, now: datetime
) -> SupportPin | None:
    """The account's newest PIN of `kind` that would be accepted now, if any."""
    pins = _active_pins(session, account, now, kind)
    return max(pins, key=lambda pin: (pin.created_at, pin.id)) if pins else None
