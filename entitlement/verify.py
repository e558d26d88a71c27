"""Checking a PIN typed on the keypad: lockouts, kinds, one-time claims, and the record of it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Select, String, Table, and_, bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from entitlement import limits
from entitlement.alerts import PIN_FAILURE_BURST, PRIVILEGED_PIN_USED, alert_managers
from entitlement.pins import hash_pin
from entitlement.policy import MAX_PIN_LENGTH, MIN_PIN_LENGTH, PinPolicy
from entitlement.spoken import spoken_wait
from kernel import held_writes
from kernel.phones import caller_e164
from models import (
    Account,
    Call,
    CallOutcome,
    Contact,
    Notification,
    PinAttempt,
    PinKind,
    PinOutcome,
    SupportPin,
    Ticket,
)
from notify.humantime import human_datetime, human_time, zone

log = logging.getLogger(__name__)

FAILURES = (PinOutcome.UNKNOWN, PinOutcome.EXPIRED, PinOutcome.USED)
# How long a one-time PIN whose call dropped before an engineer or a message works again
# from the same number (its redial joins the same ticket).
REDIAL_GRACE = timedelta(minutes=15)
REDIAL_OUTCOMES = (
    None,
    CallOutcome.ABANDONED,
    CallOutcome.ABANDONED_RINGING,
    CallOutcome.MISSED,
)
# What attempts from a hidden caller ID are recorded under.
WITHHELD = "withheld"


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN attempt and what the call flow needs to say next."""

    outcome: PinOutcome
    account: Account | None = None
    pin_kind: PinKind | None = None
    # Set for a privileged PIN: support staff may see more of the account's data until then.
    elevated_until: datetime | None = None
    # Set when this caller may not try again before then (a number's, account's or the
    # withheld callers' lockout); None for the per-call limit.
    locked_until: datetime | None = None
    # Tries still allowed on this call (None without a CallSid); 0 means stop asking.
    tries_left: int | None = None
    # For a refusal: a sentence the caller can hear (English; the ticket keeps it, and the
    # call flow says the same in the caller's language from `outcome` and `refused_by`).
    message: str | None = None
    # The limit that refused this attempt or that it set off, if any.
    refused_by: limits.Limit | None = None
    # The PIN typed (for a refusal too, when it was found): its row's id, never its digits.
    pin_id: int | None = None
    # For a one-time PIN working again on a redial: the CallSid of the call that dropped.
    redial_of: str | None = None

    @property
    def ok(self) -> bool:
        """True when the PIN identified an account."""
        return self.outcome is PinOutcome.OK


def caller_key(caller_number: str | None, default_region: str = "US") -> str:
    """The caller number as failures are counted and recorded: E.164, or 'withheld'."""
    return caller_e164(caller_number, default_region) or WITHHELD


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
    tries_key: str | None = None,
) -> PinCheck:
    """Check typed keys, record the attempt and raise alerts; the caller commits.

    `tries_key` counts this call's tries apart from its PIN tries (a texted code's own three).
    """
    caller = caller_e164(caller_number, policy.home_region)
    parsed = parse_keys(typed_keys)
    digest = hash_pin(policy, *parsed) if parsed is not None else None
    return _check(
        session,
        digest,
        caller,
        caller or WITHHELD,
        caller,
        tries_key or call_sid,
        call_sid,
        now,
        policy,
    )


# The one PIN budget of all the senders whose address is on no account.
UNKNOWN_SENDERS = "mail:address-not-on-file"


def verify_mailed_pin(
    session: Session, pin_hash: str | None, sender: str, now: datetime, policy: PinPolicy
) -> PinCheck:
    """Check a PIN found in an email's subject (kept as its hash) for `sender`, with the phone's
    rules: kinds, one-time claims, lockouts per sender address (one shared by all addresses on
    no account); the caller commits."""
    on_file = session.scalar(
        select(Contact.id).where(func.lower(Contact.email) == sender.lower()).limit(1)
    )
    # An address on file has its own budget. Any other address shares one budget with every
    # address not on file: a From line costs nothing to change, so a guesser writing each
    # guess from a new address gets no more tries than one address would. Account budgets
    # are the phone's: a forged From never locks a customer's phone calls out.
    key = f"mail:{sender.lower()}"[:64] if on_file is not None else UNKNOWN_SENDERS
    # No redial grace: a one-time PIN is spent by the first email, as a resend is a new message.
    return _check(session, pin_hash, key, key, None, None, None, now, policy, redial=False)


# "PIN 12345678", "pin: p1234567", "PIN#12345678", "PIN12345678", "Pin no. 12345678": the word
# PIN, then the digits (p: privileged). Digits written on after a space or hyphen ("PIN 1234
# 5678") are not part of the PIN looked up, but are masked with it: half a PIN is never kept.
_MAILED_PIN = re.compile(
    r"\bPIN(?:\s*(?:no\.?|number|nr\.?)(?![a-z]))?[\s:#=-]*(p?)(\d{4,12})((?:[ -]\d+)*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MailedPin:
    """A PIN written in a subject line: where it is, and its keyed hash (never the digits)."""

    start: int
    end: int
    pin_hash: str | None  # None: digits that cannot be a PIN (wrong length)


def find_mailed_pin(text: str, policy: PinPolicy) -> MailedPin | None:
    """The first "PIN <digits>" in `text`, hashed as the phone would look it up; else None."""
    match = _MAILED_PIN.search(text)
    if match is None:
        return None
    privileged, digits = bool(match.group(1)), match.group(2)
    parsed = parse_keys(("*" if privileged else "") + digits)
    digest = hash_pin(policy, *parsed) if parsed is not None else None
    return MailedPin(match.start(), match.end(), digest)


def _check(
    session: Session,
    digest: str | None,
    caller: str | None,
    recorded_as: str,
    registering: str | None,
    tries_key: str | None,
    call_sid: str | None,
    now: datetime,
    policy: PinPolicy,
    redial: bool = True,
) -> PinCheck:
    """The PIN check shared by the phone and email: limits, lookup, outcome, record, alerts."""
    # `registering` is the phone number whose accounts' limits the attempt counts against.
    # A slot in every limit is taken before the PIN is looked at (see entitlement.limits).
    if held_writes.combines(session):
        reservation, pin = _reserve_and_find(
            session, digest, caller, registering, tries_key, now, policy
        )
    else:
        accounts = _accounts_registering(session, registering) if registering else []
        reservation = limits.reserve(session, caller, accounts, tries_key, now, policy)
        pin = _find(session, digest) if reservation.refusal is None else None
    if reservation.refusal is not None:
        _record(session, now, recorded_as, call_sid, PinOutcome.LOCKED_OUT)
        return PinCheck(
            PinOutcome.LOCKED_OUT,
            locked_until=reservation.refusal.locked_until,
            tries_left=0,
            message=_refusal_message(reservation.refusal, now, policy),
            refused_by=reservation.refusal.limit,
        )

    outcome = _outcome(session, pin, now)
    redial_of = None
    if outcome is PinOutcome.USED and pin is not None and caller is not None and redial:
        redial_of = _dropped_call(session, pin, caller, now)
        outcome = PinOutcome.OK if redial_of else outcome
    # A right PIN's attempt is read by nothing in this transaction but a privileged PIN's
    # alert: on PostgreSQL it goes with the commit's writes.
    held = outcome is PinOutcome.OK and pin is not None and pin.kind is not PinKind.PRIVILEGED
    attempt = _record(
        session,
        now,
        recorded_as,
        call_sid,
        outcome,
        account_id=pin.account_id if pin else None,
        pin_id=pin.id if pin else None,
        at_commit=held,
    )
    call_count = reservation.call_count
    lockout = limits.settle(session, reservation, outcome is not PinOutcome.OK, now, policy)

    if outcome is PinOutcome.OK:
        assert pin is not None
        elevated_until = None
        if pin.kind is PinKind.PRIVILEGED:
            elevated_until = pin.expires_at
            assert attempt is not None  # a privileged PIN's attempt is written at once
            _alert_privileged_use(session, pin, attempt, elevated_until, now)
        return PinCheck(
            outcome,
            account=pin.account,
            pin_kind=pin.kind,
            elevated_until=elevated_until,
            # The tries before this one, as if this right PIN had not been typed.
            tries_left=None if call_count is None else policy.tries_per_call - call_count + 1,
            pin_id=pin.id,
            redial_of=redial_of,
        )

    _alert_burst_if_due(session, now, policy)
    message = _FAILURE_MESSAGES[outcome]
    tries_left = None if call_count is None else max(0, policy.tries_per_call - call_count)
    locked_until = None
    limit: limits.Limit | None = None
    if lockout is not None:
        limit, locked_until = lockout
        tries_left = 0
        message = f"{message} {_refusal_message(limits.Refusal(limit, locked_until), now, policy)}"
    return PinCheck(
        outcome,
        pin_kind=pin.kind if pin else None,
        pin_id=pin.id if pin else None,
        locked_until=locked_until,
        tries_left=tries_left,
        message=message,
        refused_by=limit,
    )


def _with_account() -> Any:
    # The account with everything the entitlement check and the flow read, in the PIN's own
    # query (a few contacts x licences x products rows, not three more queries).
    return joinedload(SupportPin.account).options(
        joinedload(Account.contacts),
        joinedload(Account.licences),
        joinedload(Account.products),
    )


def _find(session: Session, digest: str | None) -> SupportPin | None:
    """The PIN with this hash, with its account loaded for the checks that follow."""
    if digest is None:
        return None
    query = select(SupportPin).options(_with_account()).where(SupportPin.pin_hash == digest)
    return session.scalars(query).unique().first()


@cache
def _reserve_and_find_statement() -> Select[Any]:
    """The reservation and, only when it is within every limit, the PIN: one statement."""
    # The reservation is entitlement.limits.reservation_sql; the PIN comes with its account.
    # Built once per process.
    summary = limits.reservation_sql().summary
    found = and_(SupportPin.pin_hash == bindparam("digest", type_=String()), summary.c.within)
    return (
        select(summary.c.accounts, summary.c.locks, summary.c.counts, SupportPin)
        .select_from(summary)
        .outerjoin(SupportPin, found)
        .options(_with_account())
    )


def _reserve_and_find(
    session: Session,
    digest: str | None,
    caller: str | None,
    registering: str | None,
    tries_key: str | None,
    now: datetime,
    policy: PinPolicy,
) -> tuple[limits.Reservation, SupportPin | None]:
    """PostgreSQL: reserve a slot in every limit and look the PIN up in one statement."""
    # The PIN comes back only when the reservation holds, as in the two-step path.
    params = limits.reservation_params(caller, registering, tries_key, now, policy)
    params["digest"] = digest
    rows = session.execute(_reserve_and_find_statement(), params).unique().all()
    accounts, locks, counts, pin = rows[0]
    reservation = limits.reservation_of(
        session, caller, tries_key, accounts, locks, counts, now, policy
    )
    return reservation, pin if reservation.refusal is None else None


def _accounts_registering(session: Session, caller: str) -> list[int]:
    """The accounts with a contact registered under this E.164 number."""
    rows = session.scalars(
        select(Contact.account_id).where(Contact.phone == caller).distinct()
    ).all()
    return sorted(rows)


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


def _dropped_call(session: Session, pin: SupportPin, caller: str, now: datetime) -> str | None:
    """The CallSid of this number's call that spent the one-time PIN and then dropped, if the
    PIN may work again for it: within REDIAL_GRACE, before an engineer or a message."""
    if pin.kind is not PinKind.ONE_TIME or pin.used_at is None:
        return None
    if now - pin.used_at > REDIAL_GRACE:
        return None
    first = session.scalar(
        select(PinAttempt)
        .where(PinAttempt.pin_id == pin.id, PinAttempt.outcome == PinOutcome.OK)
        .order_by(PinAttempt.at, PinAttempt.id)
        .limit(1)
    )
    if first is None or first.caller_number != caller or first.call_sid is None:
        return None
    # The latest call this PIN let in from the number (a redial may itself have dropped).
    latest = session.scalar(
        select(Call)
        .join(PinAttempt, PinAttempt.call_sid == Call.call_sid)
        .where(PinAttempt.pin_id == pin.id, PinAttempt.outcome == PinOutcome.OK)
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(1)
    )
    if latest is None or latest.connected_at is not None or latest.ended_at is None:
        return None
    if latest.outcome not in REDIAL_OUTCOMES:
        return None
    return latest.call_sid


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
    at_commit: bool = False,
) -> PinAttempt | None:
    """Record the attempt: now (its row back), or with the commit's writes (`at_commit`: None)."""
    # `at_commit` holds it for the commit's one statement on PostgreSQL only.
    row = {
        "at": now,
        "caller_number": caller,
        "call_sid": call_sid,
        "outcome": outcome,
        "account_id": account_id,
        "pin_id": pin_id,
    }
    attempt = None
    if at_commit and held_writes.combines(session):
        held_writes.hold_row(session, cast(Table, PinAttempt.__table__), row)
    else:
        attempt = PinAttempt(**row)
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


def _refusal_message(refusal: limits.Refusal, now: datetime, policy: PinPolicy) -> str:
    """What a refused caller hears, in plain words."""
    if refusal.limit is limits.Limit.CALL:
        return f"You have used all {policy.tries_per_call} tries on this call."
    wait = spoken_wait((refusal.locked_until or now) - now)
    if refusal.limit is limits.Limit.WITHHELD:
        return (
            "There have been too many wrong PINs from callers who hide their number. "
            f"Please call from a number that shows caller ID, or try again in {wait}."
        )
    if refusal.limit is limits.Limit.ACCOUNT:
        return (
            "There have been too many wrong PINs from your company's registered phone numbers. "
            f"Please try again in {wait}."
        )
    return f"There have been too many wrong PINs from this number. Please try again in {wait}."


def _alert_privileged_use(
    session: Session,
    pin: SupportPin,
    attempt: PinAttempt,
    elevated_until: datetime | None,
    now: datetime,
) -> None:
    where = zone(pin.account.timezone)
    payload = {
        "account": pin.account.name,
        "account_id": pin.account_id,
        "call_sid": attempt.call_sid,
        "caller_number": attempt.caller_number,
        "used_at": now.isoformat(),
        "elevated_until": elevated_until.isoformat() if elevated_until else None,
        # What people read: the account's wall clock, never an ISO string.
        "used_at_text": human_datetime(now, where),
        "elevated_until_text": human_datetime(elevated_until, where) if elevated_until else None,
    }
    alert_managers(
        session, PRIVILEGED_PIN_USED, payload, now, f"{PRIVILEGED_PIN_USED}:{attempt.id}"
    )


def _alert_burst_if_due(session: Session, now: datetime, policy: PinPolicy) -> None:
    # Read after the failure was recorded, so it counts too; an alert raised within the
    # window covers this burst.
    since = now - policy.burst_window
    in_window = (PinAttempt.at > since, PinAttempt.at <= now, PinAttempt.outcome.in_(FAILURES))
    alerted = (
        select(Notification.id)
        .where(Notification.kind == PIN_FAILURE_BURST, Notification.created_at > since)
        .limit(1)
        .scalar_subquery()
    )
    failures, callers, already = session.execute(
        select(func.count(), func.count(PinAttempt.caller_number.distinct()), alerted).where(
            *in_window
        )
    ).one()
    if failures < policy.burst_threshold or already is not None:
        return
    window = int(policy.burst_window.total_seconds())
    bucket = datetime.fromtimestamp(int(now.timestamp()) // window * window, UTC)
    payload = {
        "failures": failures,
        "callers": callers or 0,
        "window_minutes": window // 60,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "since_text": human_time(since, UTC),
        "until_text": human_datetime(now, UTC),
    }
    # Keyed on the window's bucket so two failures racing past the threshold raise one alert.
    alert_managers(
        session, PIN_FAILURE_BURST, payload, now, f"{PIN_FAILURE_BURST}:{bucket.isoformat()}"
    )
