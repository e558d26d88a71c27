"""Atomic fixed-window counters: one upsert with RETURNING, so parallel requests never overcount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

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
    # Sorted by key: concurrent statements then lock shared rows in the same order (no deadlock).
    params: dict[str, Any] = {}
    for index, ((key, window), amount) in enumerate(sorted(amounts.items())):
        params[f"key_{index}"] = key
        params[f"start_{index}"] = window_start(now, window)
        params[f"count_{index}"] = amount
    statement = _upsert_of(len(amounts))
    return {key: count for key, count in session.execute(statement, params).all()}


@lru_cache(maxsize=32)
def _upsert_of(rows: int) -> TextualSelect:
    """The upsert of `rows` counters, as text built once. A multi-row VALUES is never taken
    from SQLAlchemy's statement cache: it was compiled afresh on every call, twice per PIN
    typed. The statement is the same on PostgreSQL and SQLite (ON CONFLICT ... RETURNING)."""
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
