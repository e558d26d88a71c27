"""What a severity-1 call costs the database: statements per webhook, each with a budget.

A statement is a round trip (BEGIN, COMMIT and savepoints count too). The budgets are the
ceilings the flow keeps today, with the reason for what each step must do; they fail the
build when a change adds work to a webhook. The issue's target (at most 4 per step and 20
from greeting to hold) is kept below as an expected failure, to be tightened to a plain test
once the flow reaches it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from kernel.statements import StatementCounter
from routing.store import load_demo_routing, load_routing
from tests.factories import Customer, SignedTwilio, make_customer

# Webhook -> (most statements, why it needs them). Re-tune here when the flow changes.
BUDGETS: dict[str, tuple[int, str]] = {
    "/ivr/voice": (
        5,
        "BEGIN; ticket; call with its first reply; call_started event (one INSERT ... WITH "
        "on PostgreSQL: 3 in all); COMMIT (the number's "
        "language and offer come from the routing version kept in memory, checked at most "
        "once a second; a call seen before is found only after its insert fails)",
    ),
    "/ivr/pin": (
        13,
        "BEGIN; lock and read the call (one UPDATE ... RETURNING); accounts registering the "
        "number; lockouts; every PIN limit in one upsert; the PIN with its account, contacts, "
        "licences and products in one query; the attempt; the limits given back in one upsert; "
        "the ticket; ticket and call updates; the step's events in one INSERT; COMMIT",
    ),
    "/ivr/severity": (
        9,
        "BEGIN; lock and read the call; its ticket with account and product and the "
        "account's open incident, in one query; routing (engineers and the version in one "
        "query); the ring attempts (INSERT ... RETURNING, for their ids); ticket update; one "
        "call update; the step's events in one INSERT; COMMIT",
    ),
    "/ivr/hold": (
        5,
        "BEGIN; lock and read the call (ringing needs no second lock); the attempts; the "
        "stored reply; COMMIT",
    ),
}
# Greeting to hold (30 on PostgreSQL): was 42, and 56 on PostgreSQL when the issue was filed.
CALL_BUDGET = 32
TARGET_STEP, TARGET_CALL = 4, 20  # the issue's goal


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(EMERGENCY_NUMBER="+15005550911")
    return app_config


class HeldWork:
    """The dialer's executor, holding its REST work: only the webhooks' statements count."""

    def __init__(self) -> None:
        self.held: list[Any] = []

    def submit(self, fn: Any, /, *args: Any) -> None:
        self.held.append((fn, args))

    def shutdown(self, wait: bool = True) -> None:
        pass


@pytest.fixture
def twilio(app: Flask, client: FlaskClient) -> SignedTwilio:
    dialer = app.extensions["dialer"]
    dialer.pool.shutdown(wait=True)
    dialer.pool = HeldWork()
    return SignedTwilio(client)


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


def severity1_call(
    session: Session, twilio: SignedTwilio, customer: Customer, statements: StatementCounter
) -> dict[str, list[str]]:
    """Greeting, PIN, severity 1, the first hold turn: the statements of each webhook."""
    load_demo_routing(session, datetime.now(UTC))
    session.commit()
    load_routing(session)  # a running server has parsed the version in force already
    session.rollback()
    statements.take()
    spent: dict[str, list[str]] = {}
    for path, params in [
        ("/ivr/voice", {}),
        ("/ivr/pin", {"Digits": customer.keys}),
        ("/ivr/severity", {"Digits": "1"}),
        ("/ivr/hold", {"QueueTime": "0"}),
    ]:
        response = twilio.post(path, **params)
        assert response.status_code == 200
        spent[path] = statements.take()
        if path == "/ivr/severity":
            assert b"<Enqueue" in response.data  # the caller is held while engineers ring
    return spent


def test_each_webhook_of_a_severity1_call_stays_within_its_budget(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
) -> None:
    spent = severity1_call(session, twilio, customer, statements)
    for path, (budget, why) in BUDGETS.items():
        listing = "\n  ".join(" ".join(s.split())[:120] for s in spent[path])
        assert len(spent[path]) <= budget, (
            f"{path} sent {len(spent[path])} statements, budget {budget} ({why}):\n  {listing}"
        )
    assert sum(len(s) for s in spent.values()) <= CALL_BUDGET


def test_a_repeated_severity_step_reads_the_routing_document_once(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
) -> None:
    """The stored routing document is parsed once per version, not once per call."""
    severity1_call(session, twilio, customer, statements)
    second = SignedTwilio(twilio.client)
    second.caller = "+14155550177"
    other = make_customer(app, session, name="Beta Ltd")
    second.post("/ivr/voice")
    second.post("/ivr/pin", Digits=other.keys)
    statements.take()
    second.post("/ivr/severity", Digits="1")
    reads = [s for s in statements.take() if "FROM routing_configs" in s and "document" in s]
    assert reads == []


@pytest.mark.xfail(
    strict=True,
    reason="the issue's target, not reached: the PIN step's limits, lockouts and attempt "
    "(a security record each) and the severity step's incident check and ring attempts",
)
def test_the_issue_target_4_per_step_and_20_per_call(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
) -> None:
    spent = severity1_call(session, twilio, customer, statements)
    assert all(len(s) <= TARGET_STEP for s in spent.values())
    assert sum(len(s) for s in spent.values()) <= TARGET_CALL
