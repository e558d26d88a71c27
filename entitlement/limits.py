"""PIN-failure limits that hold under concurrency, and lockouts that grow one step at a time.

Rules, stated once:
- Every attempt first reserves one slot in each limit that applies to it, with an atomic
  increment (kernel.counters.add); only an attempt whose slots are all within their limits
  has its PIN checked. So however many attempts run in parallel, at most the limit are checked.
- A right PIN gives its slots back: limits count wrong PINs, a customer's good call costs
  nothing. A refused attempt gives back the slots it took too.
- Limits: per call (`tries_per_call`, 3), per caller number in E.164 (`lockout_failures` per
  `lockout_window`, 5 an hour), per account tried (`account_failures` per `lockout_window`).
  "Account tried" is every account whose registered contact numbers include the caller's: the
  only account known before the PIN is checked. An expired or used PIN of an account is recorded
  on the attempt but does not count against that account, because an old PIN gives no help in
  guessing the current one and counting it would let whoever holds one lock the customer out.
- The failure that fills a number's or account's limit starts a lockout: 1, 5, 15, then 60
  minutes for the 1st, 2nd, 3rd and later lockouts in a row (`lockout_delays`); after it the
  limit starts again from zero. A lockout that ended `strike_memory` (24 h) ago is forgotten.
- Callers who hide their number cannot be told apart, so they get no per-number lockout (one
  shared lockout would let anyone lock every withheld caller out); they keep the per-call limit
  and share a larger budget (`withheld_failures` per `withheld_window`) that only refuses until
  its short window ends and never grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from kernel import counters
from models import PinLockout

# Longer than any phone call Twilio keeps up (4 hours), so a call's tries are never reset.
CALL_WINDOW = timedelta(days=1)


class Limit(str, Enum):
    """Which limit refused an attempt, or which lockout it started."""

    CALL = "call"
    NUMBER = "number"
    ACCOUNT = "account"
    WITHHELD = "withheld"


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was not checked, and when the caller may try again (None: another call)."""

    limit: Limit
    locked_until: datetime | None


@dataclass(frozen=True)
class _Bucket:
    """One limit as it applies to one attempt: its counter and, for lockouts, its subject."""

    limit: Limit
    counter_key: str
    window: timedelta
    allowed: int
    # The lockout row's key ("number:+44..." or "account:42"); None for limits without lockouts.
    subject: str | None = None
    # Lockouts in a row so far: picks the next delay and a fresh counter after each lockout.
    strikes: int = 0


@dataclass(frozen=True)
class Reservation:
    """The slots one attempt holds, or why it holds none."""

    refusal: Refusal | None
    held: tuple[tuple[_Bucket, int], ...] = ()

    @property
    def call_count(self) -> int | None:
        """This attempt's place among the call's counted attempts (None without a CallSid)."""
        return next((count for b, count in self.held if b.limit is Limit.CALL), None)


def reserve(
    session: Session,
    caller: str | None,
    account_ids: list[int],
    call_sid: str | None,
    now: datetime,
    policy: PinPolicy,
) -> Reservation:
    """Take a slot in every limit for this attempt, or refuse it; `caller` None is withheld."""
    subjects = ([f"number:{caller}"] if caller else []) + [f"account:{a}" for a in account_ids]
    strikes: dict[str, int] = {}
    if subjects:
        # Columns, not objects: a session's cached PinLockout would hide a lockout just written.
        rows = session.execute(
            select(PinLockout.key, PinLockout.strikes, PinLockout.locked_until).where(
                PinLockout.key.in_(subjects)
            )
        ).all()
        # The lockout ending last is the one the caller hears about.
        for row in sorted(rows, key=lambda r: r.locked_until, reverse=True):
            if now < row.locked_until:
                return Reservation(Refusal(_limit_of(row.key), row.locked_until))
        for row in rows:
            remembered = now - row.locked_until < policy.strike_memory
            strikes[row.key] = row.strikes if remembered else 0

    buckets: list[_Bucket] = []
    if call_sid is not None:
        call = _Bucket(Limit.CALL, f"pin:call:{call_sid}", CALL_WINDOW, policy.tries_per_call)
        buckets.append(call)
    if caller is None:
        withheld = _Bucket(
            Limit.WITHHELD, "pin:withheld", policy.withheld_window, policy.withheld_failures
        )
        buckets.append(withheld)
    for subject in subjects:
        limit = _limit_of(subject)
        allowed = policy.lockout_failures if limit is Limit.NUMBER else policy.account_failures
        struck = strikes.get(subject, 0)
        # A fresh counter after each lockout, so the limit starts again from zero.
        key = f"pin:{subject}:{struck}"
        buckets.append(_Bucket(limit, key, policy.lockout_window, allowed, subject, struck))

    # Every slot in one statement; if any limit is passed, all of them go back in one more.
    counts = counters.add_many(session, {(b.counter_key, b.window): 1 for b in buckets}, now)
    held = [(bucket, counts[bucket.counter_key]) for bucket in buckets]
    for bucket, count in held:
        if count > bucket.allowed:
            _give_back(session, held, now)
            return Reservation(Refusal(bucket.limit, _refused_until(bucket, now, policy)))
    return Reservation(None, tuple(held))


def settle(
    session: Session, reservation: Reservation, failed: bool, now: datetime, policy: PinPolicy
) -> tuple[Limit, datetime] | None:
    """After the check: give the slots back for a right PIN, or start the lockout a wrong one
    earned; returns the lockout started (the number's before the account's), if any."""
    if not failed:
        _give_back(session, list(reservation.held), now)
        return None
    started: tuple[Limit, datetime] | None = None
    for bucket, count in reservation.held:
        # Exactly one attempt per counter sees the count reach the limit: it starts the lockout.
        if bucket.subject is None or count != bucket.allowed:
            continue
        strike = bucket.strikes + 1
        until = now + policy.lockout_delay(strike)
        _lock(session, bucket.subject, strike, until)
        if started is None:
            started = (bucket.limit, until)
    return started


def _give_back(session: Session, held: list[tuple[_Bucket, int]], now: datetime) -> None:
    # The same `now` as the reservation, so the slot returns to the window it came from.
    counters.add_many(session, {(b.counter_key, b.window): -1 for b, _ in held}, now)


def _refused_until(bucket: _Bucket, now: datetime, policy: PinPolicy) -> datetime | None:
    if bucket.limit is Limit.CALL:
        return None
    if bucket.limit is Limit.WITHHELD:
        return counters.window_start(now, bucket.window) + bucket.window
    # Attempts racing the one that filled the limit: its lockout is about to start.
    return now + policy.lockout_delay(bucket.strikes + 1)


def _lock(session: Session, subject: str, strikes: int, until: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PinLockout).values(key=subject, strikes=strikes, locked_until=until)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[PinLockout.key],
            set_={"strikes": strikes, "locked_until": until},
        )
    )


def _limit_of(subject: str) -> Limit:
    return Limit.NUMBER if subject.startswith("number:") else Limit.ACCOUNT
