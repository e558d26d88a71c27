"""Atomic fixed-window counters: one upsert with RETURNING, so parallel requests never overcount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Integer, String, Table, bindparam, delete, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import TextualSelect

from kernel import held_writes
from models.counters import RateCounter

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window of length `window` that holds `now`."""
    windows = (now - _EPOCH) // window
    return _EPOCH + windows * window


def add(session: Session, key: str, now: datetime, window: timedelta, amount: int = 1) -> int:
    """Add `amount` to `key`'s count in the current window and return the new count."""
    # INSERT ... ON CONFLICT DO UPDATE ... RETURNING is one statement on both databases: the
    # row lock it takes makes a parallel request wait and then see this one's increment.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    start = window_start(now, window)
    upsert = insert(RateCounter).values(key=key, window_start=start, count=amount)
    statement = upsert.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_start],
        set_={"count": RateCounter.count + amount},
    ).returning(RateCounter.count)
    count: int = session.execute(statement).scalar_one()
    return count


def add_many(
    session: Session, amounts: dict[tuple[str, timedelta], int], now: datetime
) -> dict[str, int]:
    """`add` for several keys in one statement: {(key, window): amount} -> {key: new count}."""
    if not amounts:
        return {}
    # A change held for the commit comes first: the counts returned include it. (A text
    # statement names no mapper: the read hook of kernel.held_writes can't see the table.)
    held_writes.write_if_held(session, _TABLE)
    # Sorted by key: concurrent statements then lock shared rows in the same order (no deadlock).
    params: dict[str, Any] = {}
    for index, ((key, window), amount) in enumerate(sorted(amounts.items())):
        params[f"key_{index}"] = key
        params[f"start_{index}"] = window_start(now, window)
        params[f"count_{index}"] = amount
    statement = _upsert_of(len(amounts))
    return {key: count for key, count in session.execute(statement, params).all()}


def add_many_at_commit(
    session: Session, amounts: dict[tuple[str, timedelta], int], now: datetime
) -> None:
    """`add_many` whose new counts nobody reads: held for the commit on PostgreSQL, else run now."""
    # Held for the commit's one statement (kernel.held_writes).
    if not amounts:
        return
    if not held_writes.combines(session):
        add_many(session, amounts, now)
        return
    # One upsert may change a row once: amounts held before for the same counter and window
    # are added to these, in one piece.
    totals: dict[tuple[str, datetime], int] = {}
    for earlier in held_writes.held_pieces(session, _TABLE):
        for index in range(len(earlier.params) // 3):
            held_at = (earlier.params[f"key_{index}"], earlier.params[f"start_{index}"])
            totals[held_at] = totals.get(held_at, 0) + earlier.params[f"count_{index}"]
    for (key, window), amount in amounts.items():
        at = (key, window_start(now, window))
        totals[at] = totals.get(at, 0) + amount
    ordered = sorted(totals.items())  # the same lock order as add_many
    params: dict[str, Any] = {}
    for index, ((key, start), amount) in enumerate(ordered):
        params[f"key_{index}"] = key
        params[f"start_{index}"] = start
        params[f"count_{index}"] = amount
    rows = len(ordered)
    piece = held_writes.Piece(
        _TABLE, ("counters", rows), lambda prefix: _held_upsert(prefix, rows), params
    )
    held_writes.hold(session, piece)


_TABLE = cast(Table, RateCounter.__table__)


def _held_upsert(prefix: str, rows: int) -> UpdateBase:
    """The upsert of `rows` counters as a construct a CTE can hold (PostgreSQL)."""
    table = _TABLE
    selects = [
        select(
            bindparam(f"{prefix}key_{i}", type_=table.c.key.type),
            bindparam(f"{prefix}start_{i}", type_=table.c.window_start.type),
            bindparam(f"{prefix}count_{i}", type_=table.c.count.type),
        )
        for i in range(rows)
    ]
    source = selects[0] if rows == 1 else union_all(*selects)
    upsert = postgresql.insert(table).from_select(
        ["key", "window_start", "count"], source, include_defaults=False
    )
    return upsert.on_conflict_do_update(
        index_elements=[table.c.key, table.c.window_start],
        set_={"count": table.c.count + upsert.excluded.count},
    )


@lru_cache(maxsize=32)
def _upsert_of(rows: int) -> TextualSelect:
    """The upsert of `rows` counters, as text built once (the same on PostgreSQL and SQLite)."""
    # A multi-row VALUES is never taken from SQLAlchemy's statement cache: it was compiled
    # afresh on every call, twice per PIN typed.
    # Only placeholders go into the text; the keys, windows and amounts are parameters.
    values = ", ".join(f"(:key_{i}, :start_{i}, :count_{i})" for i in range(rows))
    statement = text(
        f'INSERT INTO rate_counters ("key", window_start, count) VALUES {values} '  # noqa: S608
        'ON CONFLICT ("key", window_start) DO UPDATE '
        "SET count = rate_counters.count + excluded.count "
        'RETURNING "key", count'
    )
    start_type = RateCounter.__table__.c.window_start.type
    return statement.bindparams(
        *(bindparam(f"start_{i}", type_=start_type) for i in range(rows))
    ).columns(key=String(), count=Integer())


def current(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """`key`'s count in the current window, without counting."""
    count = session.scalar(
        select(RateCounter.count).where(
            RateCounter.key == key, RateCounter.window_start == window_start(now, window)
        )
    )
    return count or 0


def prune(session: Session, before: datetime) -> int:
    """Delete the windows that began before `before`; returns how many went."""
    result = session.execute(delete(RateCounter).where(RateCounter.window_start < before))
    return int(getattr(result, "rowcount", 0) or 0)
