"""Support PINs: kinds, storage, lockouts, alerts, the one-time race and no digits anywhere."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import MetaData, select, text
from sqlalchemy.orm import Session

import entitlement.verify
from directory import create_account
from entitlement import (
    PinCheck,
    PinError,
    PinPolicy,
    check_entitlement,
    clear_standing_pin,
    grant_elevated_access,
    issue_pin,
    list_pins,
    renew_standing_pin,
    verify_pin,
)
from entitlement.alerts import alert_managers
from models import Account, Notification, PinAttempt, PinKind, PinOutcome, SupportPin, Ticket

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
PEPPER = "test-pin-pepper"
OK, UNKNOWN, EXPIRED, USED, LOCKED = (
    PinOutcome.OK,
    PinOutcome.UNKNOWN,
    PinOutcome.EXPIRED,
    PinOutcome.USED,
    PinOutcome.LOCKED_OUT,
)


@pytest.fixture
def policy() -> PinPolicy:
    return PinPolicy(pepper=PEPPER)


@pytest.fixture
def acme(session: Session) -> Account:
    account = create_account(session, "Acme")
    session.commit()
    return account


def wrong_pin() -> str:
    """A well-formed PIN nobody was issued (1 in 10^8 odds of a clash)."""
    return "".join(secrets.choice("0123456789") for _ in range(8))


def check(
    session: Session,
    policy: PinPolicy,
    keys: str,
    now: datetime = T0,
    caller: str = "+441632960001",
    call: str | None = "CA-first",
) -> PinCheck:
    result = verify_pin(session, keys, caller, call, now, policy)
    session.commit()
    return result


# --- kinds and storage -------------------------------------------------------------------------


@pytest.mark.parametrize("length", [6, 8, 10], ids=["six", "default-eight", "ten"])
def test_standing_pin_is_digits_of_the_configured_length_and_works(
    session: Session, acme: Account, length: int
) -> None:
    policy = PinPolicy(pepper=PEPPER, length=length)
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    assert issued.display.isdigit() and len(issued.display) == length
    result = check(session, policy, issued.display + "#")
    assert result.ok and result.account is not None and result.account.name == "Acme"
    assert result.pin_kind is PinKind.STANDING
    assert result.elevated_until is None


@pytest.mark.parametrize("length", [5, 11], ids=["too-short", "too-long"])
def test_pin_length_outside_six_to_ten_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="6 to 10 digits"):
        PinPolicy(pepper=PEPPER, length=length)


def test_pins_are_stored_as_keyed_hash_only(session: Session, acme: Account) -> None:
    policy = PinPolicy(pepper=PEPPER)
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    row = session.scalars(select(SupportPin)).one()
    expected = hmac.new(PEPPER.encode(), issued.display.encode(), hashlib.sha256).hexdigest()
    assert row.pin_hash == expected
    # A different pepper (a stolen database without the secret) matches nothing.
    assert not check(session, PinPolicy(pepper="another-pepper"), issued.display).ok
    assert issued.display not in repr(issued)


def test_issued_pins_are_not_predictable(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    shown = {issue_pin(session, acme, PinKind.ONE_TIME, T0, policy).display for _ in range(50)}
    assert len(shown) == 50


def test_renew_stops_the_old_standing_pin_at_once(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    old = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    with pytest.raises(PinError, match="already has a standing PIN"):
        issue_pin(session, acme, PinKind.STANDING, T0, policy)
    new = renew_standing_pin(session, acme, T0 + MINUTE, policy)
    session.commit()
    assert new.display != old.display
    assert check(session, policy, old.display, T0 + MINUTE).outcome is UNKNOWN
    assert check(session, policy, new.display, T0 + MINUTE).ok
    statuses = [(p.kind, p.status) for p in list_pins(session, acme, T0 + MINUTE)]
    assert statuses == [(PinKind.STANDING, "active"), (PinKind.STANDING, "cleared")]


def test_clear_stops_the_standing_pin(session: Session, acme: Account, policy: PinPolicy) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    clear_standing_pin(session, acme, T0 + MINUTE)
    session.commit()
    assert check(session, policy, issued.display, T0 + MINUTE).outcome is UNKNOWN
    with pytest.raises(PinError, match="no working standing PIN"):
        clear_standing_pin(session, acme, T0 + MINUTE)


def test_standing_pin_expiry_is_optional_and_exact(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy, expires_in=timedelta(days=30))
    session.commit()
    expiry = T0 + timedelta(days=30)
    assert check(session, policy, issued.display, expiry - timedelta(seconds=1)).ok
    result = check(session, policy, issued.display, expiry, call="CA-second")
    assert result.outcome is EXPIRED
    assert result.message == "That PIN has expired."
    # An expired standing PIN leaves room for a new one without renewing.
    assert issue_pin(session, acme, PinKind.STANDING, expiry, policy).pin.expires_at is None


def test_one_time_pin_works_once(session: Session, acme: Account, policy: PinPolicy) -> None:
    issued = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy)
    session.commit()
    assert check(session, policy, issued.display).ok
    second = check(session, policy, issued.display, T0 + MINUTE, call="CA-second")
    assert second.outcome is USED
    assert second.account is None
    assert [p.status for p in list_pins(session, acme, T0 + MINUTE)] == ["used"]


def test_privileged_pin_lives_24_hours_and_is_typed_with_star(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.PRIVILEGED, T0, policy)
    session.commit()
    digits = issued.display[1:]
    assert issued.display == "p" + digits and digits.isdigit() and len(digits) == 7
    # '*' and the digits fill exactly one PIN's worth of keys, so no '#' is needed.
    assert issued.keypad_entry == "*" + digits and len(issued.keypad_entry) == policy.length
    # Its digits alone are not a support PIN.
    assert check(session, policy, digits, call="CA-1").outcome is UNKNOWN
    result = check(session, policy, "*" + digits + "#", T0 + 23 * HOUR, call="CA-2")
    assert result.ok and result.pin_kind is PinKind.PRIVILEGED
    assert result.elevated_until == T0 + 24 * HOUR
    later = check(session, policy, "*" + digits, T0 + 24 * HOUR, call="CA-3")
    assert later.outcome is EXPIRED


def test_standing_pin_typed_with_star_is_not_privileged(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    assert check(session, policy, "*" + issued.display).outcome is UNKNOWN


def test_privileged_pin_never_bypasses_entitlement(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.PRIVILEGED, T0, policy)
    session.commit()
    result = check(session, policy, issued.keypad_entry, T0 + HOUR)
    assert result.ok and result.account is not None
    verdict = check_entitlement(session, result.account, T0 + HOUR)
    assert not verdict.entitled
    assert verdict.reason == "this account has no support licences"


def test_each_privileged_use_alerts_managers_and_marks_the_ticket(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.PRIVILEGED, T0, policy)
    session.commit()
    first = check(session, policy, issued.keypad_entry, T0 + HOUR, call="CA-1")
    check(session, policy, issued.keypad_entry, T0 + 2 * HOUR, call="CA-2")
    alerts = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.kind, n.channel.value, n.recipient) for n in alerts] == [
        ("privileged_pin_used", "sms", "role:managers"),
        ("privileged_pin_used", "email", "role:managers"),
    ] * 2
    assert alerts[0].payload["account"] == "Acme"
    assert alerts[0].payload["call_sid"] == "CA-1"
    assert alerts[0].payload["elevated_until"] == (T0 + 24 * HOUR).isoformat()

    ticket = Ticket(account=acme)
    session.add(ticket)
    grant_elevated_access(ticket, first)
    session.commit()
    assert ticket.elevated_access_until == T0 + 24 * HOUR


@pytest.mark.parametrize(
    "keys",
    ["", "#", "abc", "12ab5678", "1234", "12345678901", "**12345678", "1234*5678", "١٢٣٤٥٦٧٨"],
    ids=[
        "empty",
        "hash-only",
        "letters",
        "mixed",
        "too-short",
        "too-long",
        "double-star",
        "star-inside",
        "non-ascii-digits",
    ],
)
def test_malformed_keys_are_unknown_and_recorded(
    session: Session, acme: Account, policy: PinPolicy, keys: str
) -> None:
    result = check(session, policy, keys)
    assert result.outcome is UNKNOWN and result.tries_left == 2
    assert session.scalars(select(PinAttempt.outcome)).all() == [UNKNOWN]


# --- tries, lockout, burst -------------------------------------------------------------------


def test_three_tries_per_call(session: Session, acme: Account, policy: PinPolicy) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    left = [check(session, policy, wrong_pin()).tries_left for _ in range(3)]
    assert left == [2, 1, 0]
    fourth = check(session, policy, issued.display)
    assert fourth.outcome is LOCKED and fourth.tries_left == 0
    assert fourth.message == "You have used all 3 tries on this call."
    # The same number may call again: the lockout is per number, after 5 failures.
    assert check(session, policy, issued.display, call="CA-again").ok


def test_five_failures_in_an_hour_lock_the_number_for_a_minute_at_first(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    times = [T0 + n * 10 * MINUTE for n in range(5)]  # the fifth failure at T0+40min
    results = [
        check(session, policy, wrong_pin(), at, call=f"CA-{n // 3}") for n, at in enumerate(times)
    ]
    assert [r.locked_until for r in results[:4]] == [None] * 4
    # The first lockout is short: a customer who mistyped is back in a minute.
    assert results[4].locked_until == T0 + 41 * MINUTE
    assert results[4].message == (
        "That PIN was not recognised. There have been too many wrong PINs from this number. "
        "Please try again in 1 minute."
    )

    refused = check(session, policy, issued.display, T0 + 40 * MINUTE + 30 * SECOND, call="CA-9")
    assert refused.outcome is LOCKED and refused.account is None
    assert refused.locked_until == T0 + 41 * MINUTE
    assert refused.message is not None and "try again in 1 minute." in refused.message
    # Another caller is not affected.
    assert check(session, policy, issued.display, T0 + 40 * MINUTE, caller="+441632960002").ok
    # Released exactly at the end of the lockout; refused calls did not extend it.
    assert check(session, policy, issued.display, T0 + 41 * MINUTE, call="CA-10").ok


def test_failures_spread_over_more_than_an_hour_do_not_lock(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    for n in range(5):
        check(session, policy, wrong_pin(), T0 + n * 15 * MINUTE, call=f"CA-{n}")
    assert check(session, policy, issued.display, T0 + 61 * MINUTE, call="CA-x").ok


def test_withheld_numbers_are_recorded_as_one_but_not_locked_out_together(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    issued = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    session.commit()
    hidden = ["anonymous", "", "+266696687", "Restricted", "unknown", "Blocked"]
    for n, number in enumerate(hidden):
        check(session, policy, wrong_pin(), T0 + n * SECOND, caller=number, call=f"CA-{n}")
    # Six wrong PINs from hidden numbers do not shut out the next customer who hides theirs.
    assert check(session, policy, issued.display, T0 + 7 * SECOND, caller="", call="CA-x").ok
    assert set(session.scalars(select(PinAttempt.caller_number))) == {"withheld"}


def test_a_burst_of_failures_raises_one_manager_alert(session: Session, acme: Account) -> None:
    policy = PinPolicy(pepper=PEPPER, burst_threshold=6, burst_window=10 * MINUTE)

    def bursts() -> list[str]:
        rows = session.scalars(
            select(Notification).where(Notification.kind == "pin_failure_burst")
        ).all()
        return sorted(n.channel.value for n in rows)

    for n in range(5):
        check(session, policy, wrong_pin(), T0 + n * MINUTE, f"+4416329601{n:02d}", f"CA-{n}")
    assert bursts() == []
    for n in range(5, 12):
        check(session, policy, wrong_pin(), T0 + n * MINUTE, f"+4416329601{n:02d}", f"CA-{n}")
    assert bursts() == ["email", "sms"]
    alert = session.scalars(select(Notification)).first()
    assert alert is not None and alert.recipient == "role:managers"
    assert alert.payload["failures"] == 6 and alert.payload["callers"] == 6
    # Still failing a full window after the alert: the managers hear once more.
    for n in range(16, 22):
        check(session, policy, wrong_pin(), T0 + n * MINUTE, f"+4416329602{n:02d}", f"CA-{n}")
    assert bursts() == ["email", "email", "sms", "sms"]


def test_every_attempt_is_recorded_with_its_outcome(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    standing = issue_pin(session, acme, PinKind.STANDING, T0, policy)
    once = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy)
    dated = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy, expires_in=MINUTE)
    session.commit()
    a, b = "+441632960001", "+441632960002"
    steps = [
        (standing.display, a, "CA-1", OK),
        (once.display, a, "CA-1", OK),
        (once.display, b, "CA-2", USED),
        (dated.display, b, "CA-2", EXPIRED),
        (wrong_pin(), b, "CA-2", UNKNOWN),
        (wrong_pin(), b, "CA-3", UNKNOWN),
        (wrong_pin(), b, "CA-3", UNKNOWN),
        (standing.display, b, "CA-3", LOCKED),
    ]
    for keys, caller, call, _ in steps:
        check(session, policy, keys, T0 + 2 * MINUTE, caller=caller, call=call)
    rows = session.scalars(select(PinAttempt).order_by(PinAttempt.id)).all()
    assert [(r.caller_number, r.call_sid, r.outcome) for r in rows] == [
        (caller, call, outcome) for _, caller, call, outcome in steps
    ]
    assert all(r.at == T0 + 2 * MINUTE for r in rows)
    matched = [r.account_id for r in rows]
    assert matched == [acme.id, acme.id, acme.id, acme.id, None, None, None, None]


def test_no_digits_in_the_database_or_logs(
    session: Session, acme: Account, policy: PinPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQL statements and their parameters are logged too, so a leak through a query shows up.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    issued = [
        issue_pin(session, acme, kind, T0, policy)
        for kind in (PinKind.STANDING, PinKind.ONE_TIME, PinKind.PRIVILEGED)
    ]
    session.commit()
    guesses = [wrong_pin() for _ in range(8)]
    typed = [pin.keypad_entry for pin in issued] + [issued[1].keypad_entry] + guesses
    for n, keys in enumerate(typed):
        check(session, policy, keys + "#", T0 + n * MINUTE, f"+4416329601{n % 3}", f"CA-{n}")
    outcomes = session.scalars(select(PinAttempt.outcome).order_by(PinAttempt.id)).all()
    assert outcomes == [OK, OK, OK, USED] + [UNKNOWN] * 8
    assert "pin check ok" in caplog.text and "pin check unknown" in caplog.text
    assert "SELECT" in caplog.text

    # Every table the database really has, not only the ones the models know about.
    tables = MetaData()
    tables.reflect(bind=session.connection())
    assert "support_pins" in tables.tables and "pin_attempts" in tables.tables
    dump = []
    for table in tables.sorted_tables:
        for row in session.execute(select(table)):
            dump.extend(str(value) for value in row)
    everything = "\n".join(dump) + "\n" + caplog.text
    secrets_typed = [pin.display for pin in issued] + [pin.display[1:] for pin in issued] + guesses
    leaked = [digits for digits in secrets_typed if digits in everything]
    assert leaked == []


# --- the one-time race -------------------------------------------------------------------------


def test_two_calls_racing_with_one_one_time_pin_only_one_gets_through(
    app: Flask,
    session: Session,
    acme: Account,
    policy: PinPolicy,
    monkeypatch: pytest.MonkeyPatch,
    is_postgres: bool,
) -> None:
    issued = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy)
    session.commit()
    barrier = threading.Barrier(2, timeout=10)
    claim: Callable[..., bool] = entitlement.verify._claim_one_time

    def claim_after_both_looked(*args: Any) -> bool:
        # Both calls have found the unused PIN before either tries to claim it.
        barrier.wait()
        return claim(*args)

    # SQLite has one writer at a time: the second check waits at its first write (the PIN
    # limits' slot, taken before the lookup) until the first commits, so it cannot reach the
    # barrier; the race is between whole checks there, and between the claims on PostgreSQL.
    if is_postgres:
        monkeypatch.setattr(entitlement.verify, "_claim_one_time", claim_after_both_looked)
    results: list[PinOutcome] = []
    errors: list[BaseException] = []

    def call(n: int) -> None:
        try:
            with app.extensions["sessionmaker"]() as own:
                result = verify_pin(own, issued.display, f"+44163296000{n}", f"CA-{n}", T0, policy)
                own.commit()
                results.append(result.outcome)
        except BaseException as exc:  # reported below, a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == sorted([OK, USED])
    session.expire_all()
    used = session.execute(text("SELECT used_at FROM support_pins")).scalar_one()
    assert used is not None


def test_the_same_alert_key_is_queued_once(session: Session) -> None:
    # Two failures crossing the burst threshold together both try to raise the window's alert.
    first = alert_managers(session, "pin_failure_burst", {"failures": 30}, T0, "burst:T0")
    second = alert_managers(session, "pin_failure_burst", {"failures": 31}, T0, "burst:T0")
    session.commit()
    assert (first, second) == (True, False)
    payloads = session.scalars(select(Notification.payload)).all()
    assert payloads == [{"failures": 30}, {"failures": 30}]
