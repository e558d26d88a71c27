"""Atomic window counters: parallel increments never overcount, windows roll over."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from kernel import counters

HOUR = timedelta(hours=1)
NOW = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


def test_counts_accumulate_within_a_window_and_restart_in_the_next(session: Session) -> None:
    assert counters.add(session, "pin:+15550001", NOW, HOUR) == 1
    assert counters.add(session, "pin:+15550001", NOW + timedelta(minutes=20), HOUR) == 2
    assert counters.add(session, "pin:+15550002", NOW, HOUR) == 1
    assert counters.add(session, "pin:+15550001", NOW + timedelta(minutes=31), HOUR) == 1
    session.commit()
    assert counters.current(session, "pin:+15550001", NOW, HOUR) == 2
    assert counters.current(session, "pin:+15550009", NOW, HOUR) == 0


def test_window_start_is_the_hour_boundary() -> None:
    assert counters.window_start(NOW, HOUR) == datetime(2026, 12, 5, 10, tzinfo=UTC)


def test_parallel_increments_each_see_a_distinct_count(app: Flask) -> None:
    """Twelve threads count at once: the counts seen are exactly 1..12, so a limit holds."""
    make_session = app.extensions["sessionmaker"]
    barrier = threading.Barrier(12)
    seen: list[int] = []
    lock = threading.Lock()

    def count_once() -> None:
        with make_session() as db:
            barrier.wait()
            value = counters.add(db, "login:alice", NOW, HOUR)
            db.commit()
        with lock:
            seen.append(value)

    threads = [threading.Thread(target=count_once) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(seen) == list(range(1, 13))


def test_prune_drops_old_windows(session: Session) -> None:
    counters.add(session, "k", NOW - 3 * HOUR, HOUR)
    counters.add(session, "k", NOW, HOUR)
    assert counters.prune(session, NOW - HOUR) == 1
    session.commit()
    assert counters.current(session, "k", NOW, HOUR) == 1


def test_several_counters_move_in_one_statement_each_by_its_own_amount(app: Flask) -> None:
    from kernel.statements import StatementCounter

    sessions = app.extensions["sessionmaker"]
    with sessions() as session:
        counters.add(session, "sms:global", NOW, HOUR)
        counters.add(session, "sms:global", NOW, HOUR)
        counter = StatementCounter(app.extensions["engine"])
        with counter.counting():
            counts = counters.add_many(
                session, {("sms:number:+1555", HOUR): 1, ("sms:global", HOUR): 1}, NOW
            )
        assert counts == {"sms:number:+1555": 1, "sms:global": 3}
        assert counter.count == 1
        given_back = counters.add_many(
            session, {("sms:global", HOUR): -1, ("sms:number:+1555", HOUR): -1}, NOW
        )
        assert given_back == {"sms:number:+1555": 0, "sms:global": 2}
        assert counters.add_many(session, {}, NOW) == {}
        session.commit()
    with sessions() as session:
        assert counters.current(session, "sms:global", NOW, HOUR) == 2
