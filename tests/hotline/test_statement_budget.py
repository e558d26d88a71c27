"""What a severity-1 call costs the database: statements per webhook, each with a budget.

The budgets are on SQL statements, as the issue counts them: queries and data changes;
BEGIN, COMMIT and savepoints are transaction control, counted apart as round trips (and
reported when a budget fails). They are the ceilings the flow keeps, with the reason for
what each step must do; they fail the build when a change adds work to a webhook. The
issue's target, at most 4 per step and 20 from greeting to hold, is PostgreSQL's (the
production database); SQLite, which has no data-modifying CTEs, has budgets of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.statements import Spent, StatementCounter
from routing.store import load_demo_routing, load_routing
from tests.factories import Customer, SignedTwilio, make_customer

# Webhook -> (most SQL statements, why it needs them), per database. Re-tune here when the
# flow changes. PostgreSQL folds what SQLite must send apart: data-modifying CTEs (the PIN's
# reservation, the step's writes at commit). The call's lock reads the call alone: an UPDATE
# that waited for another step's lock re-checks only its own row, so a ticket read in the same
# statement could be the one from before that step committed; the ticket is read after it.
BUDGETS: dict[str, dict[str, tuple[int, str]]] = {
    "postgresql": {
        "/ivr/voice": (
            1,
            "the ticket, the call with its first reply and its call_started event, in one "
            "INSERT ... WITH (the number's language and offer come from the routing version "
            "kept in memory, checked at most once a second; a call seen before is found only "
            "after its insert fails)",
        ),
        "/ivr/pin": (
            4,
            "lock and read the call (UPDATE calls ... RETURNING); the accounts registering "
            "the number, their lockouts, a slot in every PIN limit (upsert) and, only if "
            "every slot is within its limit, the PIN with its account, contacts, licences and "
            "products: one statement of CTEs; the ticket, read after the lock; at commit, the "
            "attempt, the limits given back, the step's events and the ticket and call "
            "updates in one WITH ... INSERT/UPDATE (each UPDATE's rows counted)",
        ),
        "/ivr/severity": (
            4,
            "lock and read the call; its ticket with account and product, the account's open "
            "incident, the routing version in force and its engineers as their rows are now, "
            "in one query after the lock; the ring attempts (INSERT ... RETURNING, for the "
            "dialer's ids); at commit, the step's events and the ticket and call updates in "
            "one WITH ... INSERT/UPDATE",
        ),
        "/ivr/hold": (
            3,
            "lock and read the call (ringing needs no second lock); the attempts; the stored reply",
        ),
    },
    "sqlite": {
        "/ivr/voice": (
            3,
            "the ticket; the call with its first reply; the call_started event (no "
            "data-modifying CTEs in SQLite)",
        ),
        "/ivr/pin": (
            11,
            "lock and read the call (UPDATE ... RETURNING: SQLite's RETURNING can't name the "
            "ticket); the accounts registering the number; lockouts; every PIN limit in one "
            "upsert; the PIN with its account, contacts, licences and products; the attempt; "
            "the limits given back; the ticket; the step's events in one INSERT; ticket and "
            "call updates (each write alone: no data-modifying CTEs)",
        ),
        "/ivr/severity": (
            6,
            "lock and read the call; its ticket with account and product, the account's "
            "open incident, the routing version and its engineers in one query; the ring "
            "attempts; the step's events; ticket update; call update",
        ),
        "/ivr/hold": (3, "lock and read the call; the attempts; the stored reply"),
    },
}
# Greeting to hold. PostgreSQL 12 SQL statements, 20 round trips (11 and 19 while the PIN
# step's ticket came with the call's lock, which could read it stale; was 22 statements and 30
# round trips; 56 statements when the issue was filed); SQLite 23 (was 24).
CALL_BUDGET = {"postgresql": 12, "sqlite": 23}
TARGET_STEP, TARGET_CALL = 4, 20  # the issue's goal, on PostgreSQL (production's database)


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
) -> dict[str, Spent]:
    """Greeting, PIN, severity 1, the first hold turn: the statements of each webhook."""
    load_demo_routing(session, datetime.now(UTC))
    session.commit()
    load_routing(session)  # a running server has parsed the version in force already
    session.rollback()
    statements.take()
    spent: dict[str, Spent] = {}
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
    is_postgres: bool,
) -> None:
    spent = severity1_call(session, twilio, customer, statements)
    database = "postgresql" if is_postgres else "sqlite"
    for path, (budget, why) in BUDGETS[database].items():
        sent = spent[path].statements
        listing = "\n  ".join(" ".join(s.split())[:120] for s in sent)
        trips = len(spent[path].round_trips)
        assert len(sent) <= budget, (
            f"{path} sent {len(sent)} SQL statements ({trips} round trips with BEGIN and "
            f"COMMIT), budget {budget} ({why}):\n  {listing}"
        )
    assert sum(len(s.statements) for s in spent.values()) <= CALL_BUDGET[database]


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
    sent = statements.take().statements
    reads = [s for s in sent if "FROM routing_configs" in s and "document" in s]
    assert reads == []


def test_the_issue_target_4_per_step_and_20_per_call(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
    is_postgres: bool,
) -> None:
    if not is_postgres:
        pytest.skip("the target is PostgreSQL's; SQLite keeps the budgets above")
    spent = severity1_call(session, twilio, customer, statements)
    assert all(len(s.statements) <= TARGET_STEP for s in spent.values())
    assert sum(len(s.statements) for s in spent.values()) <= TARGET_CALL
    # Round trips too: each step one BEGIN and one COMMIT around its statements.
    assert all(len(s.round_trips) == len(s.statements) + 2 for s in spent.values())


def test_the_counter_tells_statements_from_transaction_control(
    app: Flask, session: Session, statements: StatementCounter
) -> None:
    """BEGIN, COMMIT and savepoints are round trips, not SQL statements."""
    statements.take()
    with session.begin_nested():
        session.execute(select(1))
    session.commit()
    spent = statements.take()
    assert [" ".join(s.split()) for s in spent.statements] == ["SELECT 1"]
    kinds = [s.split()[0] for s in spent.round_trips]
    assert kinds == ["BEGIN", "SAVEPOINT", "SELECT", "RELEASE", "COMMIT"]
