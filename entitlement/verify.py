"""Checking a PIN typed on the keypad: lockouts, kinds, one-time claims, and the record of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, literal, null, select, update
from sqlalchemy.orm import Session, joinedload

from entitlement.alerts import PIN_FAILURE_BURST, PRIVILEGED_PIN_USED, alert_managers
from entitlement.pins import hash_pin
from entitlement.policy import MAX_PIN_LENGTH, MIN_PIN_LENGTH, PinPolicy
from entitlement.spoken import spoken_wait
from models import Account, Notification, PinAttempt, PinKind, PinOutcome, SupportPin, Ticket

log = logging.getLogger(__name__)

FAILURES = (PinOutcome.UNKNOWN, PinOutcome.EXPIRED, PinOutcome.USED)
WITHHELD = "withheld"
# What Twilio sends in From when the number is hidden, plus the words other carriers use.
_WITHHELD_NUMBERS = frozenset(
    {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked", WITHHELD}
    | {"+266696687", "+7378742833", "+8656696", "+2562533"}
)


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN attempt and what the call flow needs to say next."""

    outcome: PinOutcome
    account: Account | None = None
    pin_kind: PinKind | None = None
    # Set for a privileged PIN: support staff may see more of the account's data until then.
    elevated_until: datetime | None = None
    # Set when this caller number may not try again before then.
    locked_until: datetime | None = None
    # Tries still allowed on this call (None without a CallSid); 0 means stop asking.
    tries_left: int | None = None
    # For a refusal: a sentence the caller can hear.
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the PIN identified an account."""
        return self.outcome is PinOutcome.OK


def caller_key(caller_number: str | None) -> str:
    """The number failures are counted against; every withheld number shares one."""
    number = (caller_number or "").strip()
    return WITHHELD if number.lower() in _WITHHELD_NUMBERS else number[:64]


def parse_keys(typed_keys: str) -> tuple[str, bool] | None:
    """(digits, privileged) from keypad input like '12345678#' or '*12345678', else None."""
    keys = typed_keys.strip().removesuffix("#")
    privileged = keys.startswith("*")
    digits = keys[1:] if privileged else keys
    if not (digits.isascii() and digits.isdigit()):
        return None
    # A privileged PIN has one digit fewer: '*' takes the place of the first key.
    if not MIN_PIN_LENGTH - privileged <= len(digits) <= MAX_PIN_LENGTH:
        return None
    return digits, privileged


def verify_pin(
    session: Session,
    typed_keys: str,
    caller_number: str | None,
    call_sid: str | None,
    now: datetime,
    policy: PinPolicy,
) -> PinCheck:
    """Check typed keys, record the attempt and raise alerts; the caller commits."""
    caller = caller_key(caller_number)
    history = _history(session, caller, call_sid, now, policy)
    locked_until = history.locked_until(now, policy)
    if locked_until is not None:
        _record(session, now, caller, call_sid, PinOutcome.LOCKED_OUT)
        return PinCheck(
            PinOutcome.LOCKED_OUT,
            locked_until=locked_until,
            tries_left=0,
            message=_lockout_message(caller, locked_until, now),
        )
    if call_sid is not None and history.call_failures >= policy.tries_per_call:
        _record(session, now, caller, call_sid, PinOutcome.LOCKED_OUT)
        return PinCheck(
            PinOutcome.LOCKED_OUT,
            tries_left=0,
            message=f"You have used all {policy.tries_per_call} tries on this call.",
        )

    parsed = parse_keys(typed_keys)
    pin = None
    if parsed is not None:
        digits, privileged = parsed
        pin = session.scalar(
            select(SupportPin)
            .options(joinedload(SupportPin.account))
            .where(SupportPin.pin_hash == hash_pin(policy, digits, privileged))
        )
    outcome = _outcome(session, pin, now)
    attempt = _record(
        session,
        now,
        caller,
        call_sid,
        outcome,
        account_id=pin.account_id if pin else None,
        pin_id=pin.id if pin else None,
    )
    tries_left = None if call_sid is None else policy.tries_per_call - history.call_failures

    if outcome is PinOutcome.OK:
        assert pin is not None
        elevated_until = None
        if pin.kind is PinKind.PRIVILEGED:
            elevated_until = pin.expires_at
            _alert_privileged_use(session, pin, attempt, elevated_until, now)
        return PinCheck(
            outcome,
            account=pin.account,
            pin_kind=pin.kind,
            elevated_until=elevated_until,
            tries_left=tries_left,
        )

    _alert_burst_if_due(session, now, policy, history)
    message = _FAILURE_MESSAGES[outcome]
    locked_until = history.locked_until_after_failure(now, policy)
    if tries_left is not None:
        tries_left = max(0, tries_left - 1)
    if locked_until is not None:
        tries_left = 0
        message = f"{message} {_lockout_message(caller, locked_until, now)}"
    return PinCheck(
        outcome,
        pin_kind=pin.kind if pin else None,
        locked_until=locked_until,
        tries_left=tries_left,
        message=message,
    )


@dataclass(frozen=True)
class _History:
    """A caller's recent failures, read in one query before the attempt is checked."""

    newest: datetime | None
    # The failure that would be the limit-th newest once one more is recorded (None: too few).
    next_oldest_counted: datetime | None
    oldest_counted: datetime | None
    call_failures: int
    # Failures by anyone within the burst window, and whether managers were already alerted.
    burst_failures: int
    burst_alerted: bool

    def locked_until(self, now: datetime, policy: PinPolicy) -> datetime | None:
        """The limit of failures within one window locks the caller for one window after the
        last of them; None when the caller may try now."""
        if self.newest is None or self.oldest_counted is None:
            return None
        if self.newest - self.oldest_counted >= policy.lockout_window:
            return None
        until = self.newest + policy.lockout_window
        return until if now < until else None

    def locked_until_after_failure(self, now: datetime, policy: PinPolicy) -> datetime | None:
        """The lockout the failure just recorded at `now` starts, if it reached the limit."""
        oldest = now if policy.lockout_failures == 1 else self.next_oldest_counted
        if oldest is None or now - oldest >= policy.lockout_window:
            return None
        return now + policy.lockout_window


def _history(
    session: Session, caller: str, call_sid: str | None, now: datetime, policy: PinPolicy
) -> _History:
    # One round trip: on PostgreSQL each query costs more than the work it does.
    failed = (
        PinAttempt.caller_number == caller,
        PinAttempt.outcome.in_(FAILURES),
        PinAttempt.at <= now,
    )

    def nth_newest(n: int) -> Any:
        if n < 1:
            return null()
        return (
            select(PinAttempt.at)
            .where(*failed)
            .order_by(PinAttempt.at.desc())
            .offset(n - 1)
            .limit(1)
            .scalar_subquery()
        )

    call_failures: Any = literal(0)
    if call_sid is not None:
        call_failures = (
            select(func.count())
            .select_from(PinAttempt)
            .where(PinAttempt.call_sid == call_sid, PinAttempt.outcome.in_(FAILURES))
            .scalar_subquery()
        )
    since = now - policy.burst_window
    burst_failures = (
        select(func.count())
        .select_from(PinAttempt)
        .where(PinAttempt.at > since, PinAttempt.at <= now, PinAttempt.outcome.in_(FAILURES))
        .scalar_subquery()
    )
    burst_alerted = (
        select(Notification.id)
        .where(Notification.kind == PIN_FAILURE_BURST, Notification.created_at > since)
        .limit(1)
        .scalar_subquery()
    )
    limit = policy.lockout_failures
    row = session.execute(
        select(
            nth_newest(1),
            nth_newest(limit - 1),
            nth_newest(limit),
            call_failures,
            burst_failures,
            burst_alerted,
        )
    ).one()
    return _History(
        newest=row[0],
        next_oldest_counted=row[1],
        oldest_counted=row[2],
        call_failures=row[3],
        burst_failures=row[4],
        burst_alerted=row[5] is not None,
    )


def grant_elevated_access(ticket: Ticket, check: PinCheck) -> None:
    """Record on the ticket the elevated access a privileged PIN granted (never shortens it)."""
    if check.elevated_until is None:
        return
    current = ticket.elevated_access_until
    if current is None or current < check.elevated_until:
        ticket.elevated_access_until = check.elevated_until


_FAILURE_MESSAGES = {
    PinOutcome.UNKNOWN: "That PIN was not recognised.",
    PinOutcome.EXPIRED: "That PIN has expired.",
    PinOutcome.USED: "That one-time PIN has already been used.",
}


def _outcome(session: Session, pin: SupportPin | None, now: datetime) -> PinOutcome:
    if pin is None or pin.cleared_at is not None:
        return PinOutcome.UNKNOWN
    if pin.expires_at is not None and pin.expires_at <= now:
        return PinOutcome.EXPIRED
    if pin.kind is PinKind.ONE_TIME and (
        pin.used_at is not None or not _claim_one_time(session, pin, now)
    ):
        return PinOutcome.USED
    return PinOutcome.OK


def _claim_one_time(session: Session, pin: SupportPin, now: datetime) -> bool:
    """Mark a one-time PIN used; False when another call claimed it first."""
    # One conditional UPDATE: the database lets exactly one concurrent caller change the row.
    result = session.execute(
        update(SupportPin)
        .where(SupportPin.id == pin.id, SupportPin.used_at.is_(None))
        .values(used_at=now)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def _record(
    session: Session,
    now: datetime,
    caller: str,
    call_sid: str | None,
    outcome: PinOutcome,
    account_id: int | None = None,
    pin_id: int | None = None,
) -> PinAttempt:
    attempt = PinAttempt(
        at=now,
        caller_number=caller,
        call_sid=call_sid,
        outcome=outcome,
        account_id=account_id,
        pin_id=pin_id,
    )
    session.add(attempt)
    session.flush()
    # Outcome only: the typed keys never reach a log line.
    log.info(
        "pin check %s caller=%s call=%s account=%s",
        outcome.value,
        caller,
        call_sid,
        account_id,
    )
    return attempt


def _lockout_message(caller: str, locked_until: datetime, now: datetime) -> str:
    wait = spoken_wait(locked_until - now)
    if caller == WITHHELD:
        return (
            "There have been too many wrong PINs from callers who hide their number. "
            f"Please call from a number that shows caller ID, or try again in {wait}."
        )
    return f"There have been too many wrong PINs from this number. Please try again in {wait}."


def _alert_privileged_use(
    session: Session,
    pin: SupportPin,
    attempt: PinAttempt,
    elevated_until: datetime | None,
    now: datetime,
) -> None:
    payload = {
        "account": pin.account.name,
        "account_id": pin.account_id,
        "call_sid": attempt.call_sid,
        "caller_number": attempt.caller_number,
        "used_at": now.isoformat(),
        "elevated_until": elevated_until.isoformat() if elevated_until else None,
    }
    alert_managers(
        session, PRIVILEGED_PIN_USED, payload, now, f"{PRIVILEGED_PIN_USED}:{attempt.id}"
    )


def _alert_burst_if_due(
    session: Session, now: datetime, policy: PinPolicy, history: _History
) -> None:
    # The failure just recorded counts too; an alert raised within the window covers this burst.
    failures = history.burst_failures + 1
    if failures < policy.burst_threshold or history.burst_alerted:
        return
    since = now - policy.burst_window
    in_window = (PinAttempt.at > since, PinAttempt.at <= now, PinAttempt.outcome.in_(FAILURES))
    callers = session.scalar(
        select(func.count(PinAttempt.caller_number.distinct())).where(*in_window)
    )
    window = int(policy.burst_window.total_seconds())
    bucket = datetime.fromtimestamp(int(now.timestamp()) // window * window, UTC)
    payload = {
        "failures": failures,
        "callers": callers or 0,
        "window_minutes": window // 60,
        "since": since.isoformat(),
        "until": now.isoformat(),
    }
    # Keyed on the window's bucket so two failures racing past the threshold raise one alert.
    alert_managers(
        session, PIN_FAILURE_BURST, payload, now, f"{PIN_FAILURE_BURST}:{bucket.isoformat()}"
    )
