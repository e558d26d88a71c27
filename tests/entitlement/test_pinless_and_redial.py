"""The way through without a PIN, and a one-time PIN's redial grace, as plain domain rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from directory import add_contact, create_account
from entitlement import pinless
from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from entitlement.verify import REDIAL_GRACE, verify_pin
from models import Account, Call, CallOutcome, PinKind, PinOutcome, Ticket

T0 = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
ANN = "+14155550100"
STRANGER = "+15557654321"


@pytest.fixture
def policy() -> PinPolicy:
    return PinPolicy(pepper="test-pin-pepper")


@pytest.fixture
def acme(session: Session) -> Account:
    account = create_account(session, "Acme")
    add_contact(session, account, "Ann Ops", ANN, "ann@acme.test")
    session.commit()
    return account


def test_a_keyed_in_number_is_read_with_or_without_its_country_code() -> None:
    assert pinless.typed_number("14155550100#", "US") == ANN
    assert pinless.typed_number("4155550100", "US") == ANN
    assert pinless.typed_number("12", "US") is None


def test_an_unregistered_number_counts_as_a_wrong_pin_for_the_caller(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    for attempt in range(policy.tries_per_call):
        contacts, refusal = pinless.check_typed_number(
            session, "4420794600000", STRANGER, "CA-1", T0, policy
        )
        assert (contacts, refusal) == ([], None), attempt
    _, refusal = pinless.check_typed_number(session, "14155550100", STRANGER, "CA-1", T0, policy)
    assert refusal is not None  # the call's tries are spent, whatever is keyed in now


def test_codes_go_to_the_registered_contact_three_an_hour_at_most(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    [contact] = pinless.contacts_registering(session, ANN)
    codes = [pinless.issue_code(session, contact, T0, policy) for _ in range(4)]
    assert [code is not None for code in codes] == [True, True, True, False]
    first = codes[0]
    assert first is not None and first.phone == ANN and first.last4 == "0100"
    assert "one-time code" in first.text and "10 minutes" in first.text
    # The code is a one-time PIN: it works once, here from any caller the contact hands it to.
    digits = first.text.split("code is ")[1].split(".")[0]
    check = verify_pin(session, digits, STRANGER, "CA-2", T0, policy)
    assert check.ok and check.pin_id == first.pin_id and check.pin_kind is PinKind.ONE_TIME
    later = pinless.issue_code(session, contact, T0 + timedelta(hours=1, minutes=1), policy)
    assert later is not None


def _call_that_used(
    session: Session, keys: str, caller: str, sid: str, at: datetime, policy: PinPolicy
) -> tuple[PinOutcome, Call]:
    check = verify_pin(session, keys, caller, sid, at, policy)
    ticket = Ticket(subject="Phone call", created_at=at, updated_at=at)
    call = Call(call_sid=sid, ticket=ticket, from_number=caller, started_at=at)
    session.add_all([ticket, call])
    session.flush()
    return check.outcome, call


@pytest.mark.parametrize(
    ("outcome", "connected", "works_again"),
    [
        (CallOutcome.ABANDONED_RINGING, False, True),
        (CallOutcome.ABANDONED, False, True),
        (CallOutcome.MISSED, False, True),
        (CallOutcome.CONNECTED, True, False),
        (CallOutcome.MESSAGE, False, False),
    ],
)
def test_a_one_time_pin_works_again_only_after_a_call_that_dropped_short_of_help(
    session: Session,
    acme: Account,
    policy: PinPolicy,
    outcome: CallOutcome,
    connected: bool,
    works_again: bool,
) -> None:
    keys = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy).keypad_entry
    first, call = _call_that_used(session, keys, ANN, "CA-first", T0, policy)
    assert first is PinOutcome.OK
    call.ended_at, call.outcome = T0 + timedelta(seconds=40), outcome
    call.connected_at = T0 + timedelta(seconds=20) if connected else None
    session.commit()
    again = verify_pin(session, keys, ANN, "CA-again", T0 + timedelta(minutes=5), policy)
    assert again.ok is works_again
    assert again.redial_of == ("CA-first" if works_again else None)


def test_the_redial_grace_is_15_minutes_and_from_the_same_number_only(
    session: Session, acme: Account, policy: PinPolicy
) -> None:
    keys = issue_pin(session, acme, PinKind.ONE_TIME, T0, policy).keypad_entry
    _, call = _call_that_used(session, keys, ANN, "CA-first", T0, policy)
    call.ended_at, call.outcome = T0 + timedelta(seconds=30), CallOutcome.ABANDONED_RINGING
    session.commit()
    assert not verify_pin(session, keys, STRANGER, "CA-other", T0 + timedelta(minutes=1), policy).ok
    late = T0 + REDIAL_GRACE + timedelta(seconds=1)
    refused = verify_pin(session, keys, ANN, "CA-late", late, policy)
    assert refused.outcome is PinOutcome.USED
