"""What a severity-1 caller's hang-up costs the database: the Enqueue action and the status
callback, each with a budget (the storm's heaviest webhook is the status callback)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.dialer import LEG_EVENTS
from kernel.statements import Spent, StatementCounter
from models import Call, CallOutcome, CallState, Notification, Task, TicketOutcome
from models.ringing import AttemptStatus, RingAttempt
from tests.factories import Customer, SignedTwilio, make_customer
from tests.hotline.test_statement_budget import HeldWork, severity1_call

BUDGETS: dict[str, tuple[int, str]] = {
    "/ivr/queue-done": (
        1,
        "lock and read the call (nothing changes: the status callback ends the call)",
    ),
    "/ivr/status": (
        15,
        "lock and read the call; its ticket with account, contacts, product and calls "
        "in one query; the ring attempts, cancelled in one UPDATE; the callback task (is there "
        "one? insert); the on-call engineers; their text; the caller's SMS (already queued? "
        "both hourly caps in one upsert; insert); the contact's email; the events in one "
        "INSERT; ticket outcome; the call's end in one UPDATE (BEGIN and COMMIT are round "
        "trips, not counted; was 20: the call was updated twice, the task looked up twice, "
        "an accepted event looked for on a call nobody accepted, the contacts read on their "
        "own)",
    ),
}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(EMERGENCY_NUMBER="+15005550911")
    return app_config


@pytest.fixture
def twilio(app: Flask, client: FlaskClient) -> SignedTwilio:
    dialer = app.extensions["dialer"]
    dialer.pool.shutdown(wait=True)
    dialer.pool = HeldWork()
    return SignedTwilio(client)


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


def test_a_hang_up_while_engineers_ring_stays_within_its_budget(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
) -> None:
    severity1_call(session, twilio, customer, statements)
    spent: dict[str, Spent] = {}
    response = twilio.post("/ivr/queue-done", QueueResult="hangup", QueueTime="2")
    assert response.status_code == 200
    spent["/ivr/queue-done"] = statements.take()
    response = twilio.post("/ivr/status", CallStatus="completed", CallDuration="9")
    assert response.status_code == 204
    spent["/ivr/status"] = statements.take()
    for path, (budget, why) in BUDGETS.items():
        listing = "\n  ".join(" ".join(s.split())[:160] for s in spent[path].round_trips)
        assert len(spent[path].statements) <= budget, (
            f"{path} sent {len(spent[path].statements)} SQL statements, budget {budget} "
            f"({why}):\n  {listing}"
        )
    # What the hang-up owes, each once: the callback task and its text to the on-call
    # engineer, the caller's SMS (which repeats the promise) and the contact's email.
    session.expire_all()
    rows = session.execute(select(Notification.kind, Notification.payload)).all()
    kinds = sorted(kind for kind, _payload in rows)
    assert kinds == ["call_ended", "call_summary", "task_opened"]
    assert all(payload["callback_task"] for kind, payload in rows if kind == "call_ended")
    assert session.scalar(select(func.count()).select_from(Task)) == 1
    call = session.scalars(select(Call)).one()
    assert (call.state, call.status, call.duration_seconds) == (CallState.ENDED, "completed", 9)
    assert call.outcome is CallOutcome.ABANDONED_RINGING
    assert call.ticket.outcome is TicketOutcome.ABANDONED_RINGING
    statuses = session.scalars(select(RingAttempt.status)).all()
    assert statuses and set(statuses) == {AttemptStatus.CANCELLED}


def test_a_repeated_status_callback_changes_nothing(
    app: Flask,
    session: Session,
    twilio: SignedTwilio,
    customer: Customer,
    statements: StatementCounter,
) -> None:
    severity1_call(session, twilio, customer, statements)
    twilio.post("/ivr/status", CallStatus="completed", CallDuration="9")
    statements.take()
    assert twilio.post("/ivr/status", CallStatus="completed", CallDuration="9").status_code == 204
    assert len(statements.take().statements) <= 1  # the conditional lock finds it ended
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Notification)) == 3


def test_an_engineer_leg_status_that_changes_nothing_costs_no_statement(
    twilio: SignedTwilio, statements: StatementCounter
) -> None:
    """Queued and initiated change no attempt: answered without the database (and the dialer
    no longer asks Twilio for "initiated" at all)."""
    statements.take()
    for status in ("queued", "initiated"):
        response = twilio.post("/ivr/engineer-status?attempt=1", exact=True, CallStatus=status)
        assert response.status_code == 204
    assert statements.take().round_trips == []
    assert "initiated" not in LEG_EVENTS
    assert {"ringing", "answered", "completed"} <= set(LEG_EVENTS)
