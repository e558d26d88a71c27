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

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    CTE,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from kernel import counters
from models import Contact, PinLockout
from models.counters import RateCounter

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
    subjects = _subjects(caller, account_ids)
    rows: list[_Lockout] = []
    if subjects:
        # Columns, not objects: a session's cached PinLockout would hide a lockout just written.
        found = session.execute(
            select(PinLockout.key, PinLockout.strikes, PinLockout.locked_until).where(
                PinLockout.key.in_(subjects)
            )
        ).all()
        rows = [_Lockout(row.key, row.strikes, row.locked_until) for row in found]
    refusal = _locked_out(rows, now)
    if refusal is not None:
        return Reservation(refusal)
    buckets = _buckets(caller, subjects, _strikes(rows, now, policy), call_sid, policy)
    # Every slot in one statement; if any limit is passed, all of them go back in one more.
    counts = counters.add_many(session, {(b.counter_key, b.window): 1 for b in buckets}, now)
    return _held_or_refused(session, buckets, counts, now, policy)


@dataclass(frozen=True)
class _Lockout:
    """A lockout row as read: its subject, lockouts in a row, and until when."""

    key: str
    strikes: int
    locked_until: datetime


def _subjects(caller: str | None, account_ids: list[int]) -> list[str]:
    return ([f"number:{caller}"] if caller else []) + [f"account:{a}" for a in account_ids]


def _locked_out(rows: list[_Lockout], now: datetime) -> Refusal | None:
    # The lockout ending last is the one the caller hears about.
    for row in sorted(rows, key=lambda r: r.locked_until, reverse=True):
        if now < row.locked_until:
            return Refusal(_limit_of(row.key), row.locked_until)
    return None


def _strikes(rows: list[_Lockout], now: datetime, policy: PinPolicy) -> dict[str, int]:
    """Lockouts in a row per subject; a lockout that ended `strike_memory` ago is forgotten."""
    return {r.key: r.strikes if now - r.locked_until < policy.strike_memory else 0 for r in rows}


def _buckets(
    caller: str | None,
    subjects: list[str],
    strikes: dict[str, int],
    call_sid: str | None,
    policy: PinPolicy,
) -> list[_Bucket]:
    buckets: list[_Bucket] = []
    if call_sid is not None:
        call = _Bucket(Limit.CALL, f"pin:call:{call_sid}", CALL_WINDOW, policy.tries_per_call)
        buckets.append(call)
    if caller is None:
        withheld = _Bucket(
            Limit.WITHHELD, WITHHELD_KEY, policy.withheld_window, policy.withheld_failures
        )
        buckets.append(withheld)
    for subject in subjects:
        limit = _limit_of(subject)
        allowed = policy.lockout_failures if limit is Limit.NUMBER else policy.account_failures
        struck = strikes.get(subject, 0)
        # A fresh counter after each lockout, so the limit starts again from zero.
        key = f"pin:{subject}:{struck}"
        buckets.append(_Bucket(limit, key, policy.lockout_window, allowed, subject, struck))
    return buckets


WITHHELD_KEY = "pin:withheld"


def _held_or_refused(
    session: Session,
    buckets: list[_Bucket],
    counts: dict[str, int],
    now: datetime,
    policy: PinPolicy,
) -> Reservation:
    """The slots taken, or the refusal of the first limit passed (all slots then go back)."""
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
        # Nobody reads the counts given back: on PostgreSQL they go with the commit's writes.
        amounts = {(b.counter_key, b.window): -1 for b, _ in reservation.held}
        counters.add_many_at_commit(session, amounts, now)
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


# On PostgreSQL the reservation runs inside the PIN lookup's statement (see
# entitlement.verify): the accounts registering the caller's number, their and the number's
# lockouts, and the slot in every limit, as data-modifying CTEs. The rules stay the ones
# above: the PIN is only returned when no lockout holds and every count is within its limit,
# and the counts come back for `reservation_of` to decide exactly as `reserve` does.


@dataclass(frozen=True)
class ReservationSql:
    """The one-row CTE of a reservation made in SQL (see reservation_sql)."""

    # Its columns: `accounts`, `locks` and `counts` as JSON text, and `within` (true when the
    # PIN may be looked at).
    summary: CTE


@cache
def reservation_sql() -> ReservationSql:
    """The reservation's CTEs, built once per process; parameters from reservation_params."""
    contacts = cast(Table, Contact.__table__)
    lockouts = cast(Table, PinLockout.__table__)
    rate = cast(Table, RateCounter.__table__)
    text_type, at_type = String(), rate.c.window_start.type

    def param(name: str, type_: Any = None) -> Any:
        return bindparam(name, type_=type_ or text_type)

    accounts = (
        select(contacts.c.account_id)
        .where(contacts.c.phone == param("registering"))
        .distinct()
        .cte("pin_accounts")
    )
    number = param("number_subject")
    subjects = union_all(
        select(number.label("key")).where(number.is_not(None)),
        select((literal("account:") + cast_(accounts.c.account_id, String)).label("key")),
    ).cte("pin_subjects")
    locks = (
        select(lockouts.c.key, lockouts.c.strikes, lockouts.c.locked_until)
        .where(lockouts.c.key.in_(select(subjects.c.key)))
        .cte("pin_locks")
    )
    now = param("now", lockouts.c.locked_until.type)
    blocked = exists().where(locks.c.locked_until > now)
    struck = case(
        (
            locks.c.locked_until > param("strike_floor", lockouts.c.locked_until.type),
            locks.c.strikes,
        ),
        else_=0,
    )
    by_subject = select(
        (literal("pin:") + subjects.c.key + literal(":") + cast_(struck, String)).label("key"),
        param("lockout_start", at_type).label("window_start"),
        case(
            (subjects.c.key.startswith("number:"), param("number_allowed", Integer())),
            else_=param("account_allowed", Integer()),
        ).label("allowed"),
    ).select_from(subjects.outerjoin(locks, locks.c.key == subjects.c.key))
    fixed = [
        select(
            param(f"{name}_key").label("key"),
            param(f"{name}_start", at_type).label("window_start"),
            param(f"{name}_allowed", Integer()).label("allowed"),
        ).where(param(f"{name}_key").is_not(None))
        for name in ("call", "withheld")
    ]
    buckets = union_all(*fixed, by_subject).cte("pin_buckets")
    upsert = postgresql.insert(rate).from_select(
        ["key", "window_start", "count"],
        # In key order, as add_many: parallel attempts lock shared counters in the same order.
        select(buckets.c.key, buckets.c.window_start, literal(1))
        .where(~blocked)
        .order_by(buckets.c.key),
        include_defaults=False,
    )
    counted = (
        upsert.on_conflict_do_update(
            index_elements=[rate.c.key, rate.c.window_start],
            set_={"count": rate.c.count + upsert.excluded.count},
        )
        .returning(rate.c.key, rate.c.count)
        .cte("pin_counted")
    )
    over = exists().where(counted.c.key == buckets.c.key, counted.c.count > buckets.c.allowed)

    def as_json(*columns: Any, source: Any) -> Any:
        row = func.json_build_array(*columns)
        return select(cast_(func.json_agg(row), Text)).select_from(source).scalar_subquery()

    summary = select(
        as_json(accounts.c.account_id, source=accounts).label("accounts"),
        as_json(locks.c.key, locks.c.strikes, locks.c.locked_until, source=locks).label("locks"),
        as_json(counted.c.key, counted.c.count, source=counted).label("counts"),
        and_(~blocked, ~over).label("within"),
    ).cte("pin_reservation")
    return ReservationSql(summary)


def reservation_params(
    caller: str | None,
    registering: str | None,
    call_sid: str | None,
    now: datetime,
    policy: PinPolicy,
) -> dict[str, Any]:
    """The parameters of reservation_sql for one attempt."""
    # `registering`: the phone number whose accounts are tried, None for none.
    return {
        "registering": registering,
        "number_subject": f"number:{caller}" if caller else None,
        "now": now,
        "strike_floor": now - policy.strike_memory,
        "lockout_start": counters.window_start(now, policy.lockout_window),
        "number_allowed": policy.lockout_failures,
        "account_allowed": policy.account_failures,
        "call_key": f"pin:call:{call_sid}" if call_sid is not None else None,
        "call_start": counters.window_start(now, CALL_WINDOW),
        "call_allowed": policy.tries_per_call,
        "withheld_key": WITHHELD_KEY if caller is None else None,
        "withheld_start": counters.window_start(now, policy.withheld_window),
        "withheld_allowed": policy.withheld_failures,
    }


def reservation_of(
    session: Session,
    caller: str | None,
    call_sid: str | None,
    accounts: str | None,
    locks: str | None,
    counts: str | None,
    now: datetime,
    policy: PinPolicy,
) -> Reservation:
    """The Reservation a reservation_sql row stands for: the same decision `reserve` makes."""
    account_ids = sorted(int(row[0]) for row in json.loads(accounts or "[]"))
    rows = [
        _Lockout(key, strikes, datetime.fromisoformat(until).replace(tzinfo=UTC))
        for key, strikes, until in json.loads(locks or "[]")
    ]
    refusal = _locked_out(rows, now)
    if refusal is not None:
        return Reservation(refusal)
    subjects = _subjects(caller, account_ids)
    buckets = _buckets(caller, subjects, _strikes(rows, now, policy), call_sid, policy)
    taken = {key: int(count) for key, count in json.loads(counts or "[]")}
    return _held_or_refused(session, buckets, taken, now, policy)
