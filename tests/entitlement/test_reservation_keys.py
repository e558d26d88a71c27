"""The PIN limits reserved in SQL (PostgreSQL) count the same counters as the Python rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import add_contact, create_account
from entitlement import PinPolicy, limits
from models import PinLockout
from models.counters import RateCounter

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
CALLER = "+441632960001"


def counted(session: Session) -> set[str]:
    """The counters the transaction took a slot in."""
    return set(session.scalars(select(RateCounter.key).where(RateCounter.count > 0)))


@pytest.mark.parametrize("caller", [CALLER, None], ids=["number", "withheld"])
def test_the_sql_reservation_and_the_python_rules_name_the_same_counters(
    session: Session, is_postgres: bool, caller: str | None
) -> None:
    if not is_postgres:
        pytest.skip("the reservation is made in SQL on PostgreSQL only")
    policy = PinPolicy(pepper="test-pin-pepper")
    acme, beta = create_account(session, "Acme"), create_account(session, "Beta")
    add_contact(session, acme, "Dana", CALLER, None)
    add_contact(session, beta, "Sam", CALLER, None)
    session.flush()
    # Lockouts over: the number's remembered (strikes carry on), Beta's forgotten.
    session.add_all(
        [
            PinLockout(key=f"number:{CALLER}", strikes=2, locked_until=NOW - timedelta(hours=1)),
            PinLockout(key=f"account:{beta.id}", strikes=3, locked_until=NOW - timedelta(days=2)),
        ]
    )
    session.commit()
    accounts = sorted([acme.id, beta.id]) if caller else []

    by_rules = limits.reserve(session, caller, accounts, "CA-1", NOW, policy)
    assert by_rules.refusal is None
    python_keys = counted(session)
    assert python_keys == {b.counter_key for b, _count in by_rules.held}
    session.rollback()

    params = limits.reservation_params(caller, caller, "CA-1", NOW, policy)
    summary = limits.reservation_sql().summary
    within = session.execute(select(summary.c.within), params).scalar_one()
    assert within is True
    assert counted(session) == python_keys
    session.rollback()
    expected = {"pin:call:CA-1"} | (
        {f"pin:number:{CALLER}:2", f"pin:account:{acme.id}:0", f"pin:account:{beta.id}:0"}
        if caller
        else {limits.WITHHELD_KEY}
    )
    assert python_keys == expected
