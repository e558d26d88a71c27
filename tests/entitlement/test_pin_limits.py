"""PIN-failure limits: atomic under concurrency, growing lockouts, E.164, accounts, withheld."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import add_contact, create_account
from entitlement import PinCheck, PinPolicy, issue_pin, verify_pin
from models import Account, PinAttempt, PinKind, PinOutcome

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
PEPPER = "test-pin-pepper"
LOCKED = PinOutcome.LOCKED_OUT
CALLER = "+441632960001"


@pytest.fixture
def policy() -> PinPolicy:
    return PinPolicy(pepper=PEPPER)


@pytest.fixture
def acme(session: Session) -> Account:
    account = create_account(session, "Acme")
    session.commit()
    return account


def wrong_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(8))


def check(
    session: Session,
    policy: PinPolicy,
    keys: str,
    now: datetime,
    caller: str = CALLER,
    call: str | None = "CA-first",
) -> PinCheck:
    result = verify_pin(session, keys, caller, call, now, policy)
    session.commit()
    return result


def fail_until_locked(
    session: Session, policy: PinPolicy, start: datetime, caller: str = CALLER
) -> PinCheck:
    """Wrong PINs a second apart, two calls of up to 3 tries, until the number is locked."""
    for n in range(policy.lockout_failures):
        result = check(
            session, policy, wrong_pin(), start + n * SECOND, caller, f"CA-{start}-{n // 3}"
        )
    assert result.locked_until is not None
    return result


# --- lockouts that keep customers in ------------------------------------------------------------


def test_lockouts_in_a_row_last_1_5_15_then_60_minutes(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    start, waits = T0, []
    for _ in range(5):
        locked = fail_until_locked(session, policy, start)
        assert locked.locked_until is not None
        waits.append(round((locked.locked_until - (start + 4 * SECOND)) / MINUTE))
        assert locked.tries_left == 0
        # The right PIN is refused until the lockout ends, then works at once.
        before = check(session, policy, issued.display, locked.locked_until - SECOND, call="CA-x")
        assert before.outcome is LOCKED and before.locked_until == locked.locked_until
        start = locked.locked_until
    assert waits == [1, 5, 15, 60, 60]
    assert check(session, policy, issued.display, start, call="CA-y").ok


def test_a_day_without_lockouts_starts_again_at_one_minute(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    first = fail_until_locked(session, policy, T0)
    assert first.locked_until is not None
    second = fail_until_locked(session, policy, first.locked_until)
    assert second.locked_until is not None
    assert second.message is not None and "try again in 5 minutes" in second.message
    later = second.locked_until + timedelta(hours=24)
    third = fail_until_locked(session, policy, later)
    assert third.locked_until == later + 4 * SECOND + MINUTE


def test_a_right_pin_gives_its_slot_back(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    for n in range(3):
        check(session, policy, wrong_pin(), T0 + n * SECOND, call=f"CA-{n}")
    assert check(session, policy, issued.display, T0 + 4 * SECOND, call="CA-ok").ok
    assert check(session, policy, issued.display, T0 + 5 * SECOND, call="CA-ok2").ok
    # The sixth attempt is only the fourth wrong PIN: right ones cost nothing.
    assert check(session, policy, wrong_pin(), T0 + 6 * SECOND, call="CA-4").locked_until is None
    fifth = check(session, policy, wrong_pin(), T0 + 7 * SECOND, call="CA-5")
    assert fifth.locked_until == T0 + 7 * SECOND + MINUTE


def test_numbers_are_counted_in_e164_whatever_their_spelling(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    spellings = [
        "+1 (415) 555-0100",
        "4155550100",
        "+14155550100",
        " +1-415-555-0100 ",
        "415.555.0100",
    ]
    results = [
        check(session, policy, wrong_pin(), T0 + n * SECOND, caller=number, call=f"CA-{n}")
        for n, number in enumerate(spellings)
    ]
    assert results[-1].locked_until == T0 + 4 * SECOND + MINUTE
    assert set(session.scalars(select(PinAttempt.caller_number))) == {"+14155550100"}


# --- per account tried ---------------------------------------------------------------------------


def test_failures_from_an_accounts_registered_numbers_lock_those_numbers_only(
    session: Session, acme: Account
) -> None:
    policy = PinPolicy(pepper=PEPPER, account_failures=4)
    registered = ["+14155550101", "+14155550102", "+14155550103"]
    for n, phone in enumerate(registered):
        add_contact(session, acme, f"Contact {n}", phone, None)
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    # Four wrong PINs spread over three numbers: no number reaches its own limit of five.
    for n, phone in enumerate(registered + registered[:1]):
        result = check(session, policy, wrong_pin(), T0 + n * SECOND, phone, f"CA-{n}")
    assert result.locked_until == T0 + 3 * SECOND + MINUTE
    assert (
        result.message is not None and "your company's registered phone numbers" in result.message
    )
    refused = check(session, policy, issued.display, T0 + 10 * SECOND, registered[2], "CA-r")
    assert refused.outcome is LOCKED
    assert refused.message == (
        "There have been too many wrong PINs from your company's registered phone numbers. "
        "Please try again in 1 minute."
    )
    # A number not registered on the account is not held up by the account's lockout.
    assert check(session, policy, issued.display, T0 + 10 * SECOND, "+14155550199", "CA-o").ok
    assert check(
        session, policy, issued.display, T0 + 4 * SECOND + MINUTE, registered[2], "CA-l"
    ).ok


def test_an_old_pin_of_an_account_does_not_lock_the_account(
    session: Session, acme: Account
) -> None:
    policy = PinPolicy(pepper=PEPPER, account_failures=2)
    add_contact(session, acme, "Dana", "+14155550101", None)
    old = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy)
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    assert check(session, policy, old.display, T0, "+14155550170", "CA-0").ok
    for n in range(3):
        used = check(
            session, policy, old.display, T0 + n * SECOND, f"+1415555018{n}", f"CA-{n + 1}"
        )
        assert used.outcome is PinOutcome.USED
    assert check(session, policy, issued.display, T0 + 5 * SECOND, "+14155550101", "CA-d").ok


# --- withheld callers ---------------------------------------------------------------------------


def test_withheld_callers_share_a_budget_that_only_slows_them(
    session: Session, acme: Account
) -> None:
    policy = PinPolicy(pepper=PEPPER, withheld_failures=8, withheld_window=5 * MINUTE)
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    for n in range(8):
        result = check(session, policy, wrong_pin(), T0 + n * SECOND, "anonymous", f"CA-{n // 2}")
        assert result.outcome is PinOutcome.UNKNOWN
    refused = check(session, policy, issued.display, T0 + MINUTE, "", "CA-w")
    assert refused.outcome is LOCKED and refused.locked_until == T0 + 5 * MINUTE
    assert refused.message == (
        "There have been too many wrong PINs from callers who hide their number. "
        "Please call from a number that shows caller ID, or try again in 4 minutes."
    )
    # A caller who shows their number is not affected; the budget never grows a lockout.
    assert check(session, policy, issued.display, T0 + MINUTE, CALLER, "CA-c").ok
    assert check(session, policy, issued.display, T0 + 5 * MINUTE, "anonymous", "CA-w2").ok


def test_withheld_callers_keep_the_per_call_limit(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    left = [
        check(session, policy, wrong_pin(), T0, "anonymous", "CA-w").tries_left for _ in range(3)
    ]
    assert left == [2, 1, 0]
    fourth = check(session, policy, wrong_pin(), T0, "anonymous", "CA-w")
    assert fourth.outcome is LOCKED and fourth.message == "You have used all 3 tries on this call."


# --- concurrency ---------------------------------------------------------------------------------


def race(app: Flask, policy: PinPolicy, attempts: list[tuple[str, str]]) -> list[PinOutcome]:
    """Each (caller, CallSid) types a wrong PIN in its own thread and transaction, all at once."""
    barrier = threading.Barrier(len(attempts), timeout=20)
    outcomes: list[PinOutcome] = []
    errors: list[BaseException] = []

    def attempt(caller: str, call_sid: str) -> None:
        try:
            with app.extensions["sessionmaker"]() as own:
                barrier.wait()
                result = verify_pin(own, wrong_pin(), caller, call_sid, T0, policy)
                own.commit()
                outcomes.append(result.outcome)
        except BaseException as exc:  # reported below, a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(outcomes) == len(attempts)
    return outcomes


def evaluated(session: Session) -> int:
    """How many attempts had their PIN looked up (every other one was refused unlooked)."""
    session.expire_all()
    outcomes = session.scalars(select(PinAttempt.outcome)).all()
    return sum(outcome is not LOCKED for outcome in outcomes)


def test_parallel_attempts_from_one_number_check_at_most_the_limit(
    app: Flask, session: Session, acme: Account, policy: PinPolicy
) -> None:
    outcomes = race(app, policy, [(CALLER, f"CA-{n}") for n in range(12)])
    assert outcomes.count(PinOutcome.UNKNOWN) == policy.lockout_failures
    assert outcomes.count(LOCKED) == 12 - policy.lockout_failures
    assert evaluated(session) == policy.lockout_failures


def test_parallel_attempts_on_one_call_check_at_most_three(
    app: Flask, session: Session, acme: Account, policy: PinPolicy
) -> None:
    outcomes = race(app, policy, [(f"+4416329600{n:02d}", "CA-one") for n in range(10)])
    assert outcomes.count(PinOutcome.UNKNOWN) == policy.tries_per_call
    assert evaluated(session) == policy.tries_per_call


def test_parallel_withheld_attempts_check_at_most_the_budget(
    app: Flask, session: Session, acme: Account
) -> None:
    policy = PinPolicy(pepper=PEPPER, withheld_failures=4)
    outcomes = race(app, policy, [("anonymous", f"CA-{n}") for n in range(10)])
    assert outcomes.count(PinOutcome.UNKNOWN) == 4
    assert evaluated(session) == 4
