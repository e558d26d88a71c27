"""A refused PIN is explained in the caller's language; in English, word for word what the
ticket records (entitlement.verify's sentence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from entitlement.limits import Limit, Refusal
from entitlement.policy import PinPolicy
from entitlement.verify import _FAILURE_MESSAGES, PinCheck, _refusal_message
from ivr.languages import GERMAN, pin_refusal
from ivr.prompts import ENGLISH
from models import PinOutcome

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
POLICY = PinPolicy(pepper="test-pepper")
CASES = [
    (outcome, limit, wait)
    for outcome in (PinOutcome.UNKNOWN, PinOutcome.EXPIRED, PinOutcome.USED, PinOutcome.LOCKED_OUT)
    for limit in (None, *Limit)
    for wait in (timedelta(seconds=20), timedelta(minutes=42))
    if not (outcome is PinOutcome.LOCKED_OUT and limit is None)
]


def check_for(outcome: PinOutcome, limit: Limit | None, wait: timedelta) -> PinCheck:
    """The PinCheck entitlement.verify makes for this outcome and limit."""
    until = None if limit in (None, Limit.CALL) else NOW + wait
    parts = [_FAILURE_MESSAGES[outcome]] if outcome in _FAILURE_MESSAGES else []
    if limit is not None:
        parts.append(_refusal_message(Refusal(limit, until), NOW, POLICY))
    return PinCheck(outcome, locked_until=until, message=" ".join(parts), refused_by=limit)


@pytest.mark.parametrize(("outcome", "limit", "wait"), CASES)
def test_english_says_what_the_ticket_records(
    outcome: PinOutcome, limit: Limit | None, wait: timedelta
) -> None:
    check = check_for(outcome, limit, wait)
    assert pin_refusal(check, ENGLISH, NOW, POLICY.tries_per_call) == check.message


@pytest.mark.parametrize(("outcome", "limit", "wait"), CASES)
def test_german_says_it_in_german(
    outcome: PinOutcome, limit: Limit | None, wait: timedelta
) -> None:
    check = check_for(outcome, limit, wait)
    said = pin_refusal(check, GERMAN, NOW, POLICY.tries_per_call)
    assert said and said != check.message and "the" not in said.lower().split()
    if limit not in (None, Limit.CALL):
        assert ("in einer Minute" if wait.total_seconds() < 60 else "in 42 Minuten") in said
