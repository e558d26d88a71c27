"""A call whose status callback never arrived is closed by asking Twilio's REST API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.maintenance import reconcile_calls
from models import Call, CallEvent, CallState, TicketOutcome
from simulator import Caller, Simulator
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN


@pytest.fixture
def lossy_phone(app_config: dict[str, Any]) -> Iterator[Simulator]:
    """A network whose status callbacks all go astray (a path the hotline doesn't serve)."""
    with Simulator(
        PUBLIC_BASE_URL, TEST_AUTH_TOKEN, TEST_ACCOUNT_SID, max_wall=60, status_path="/lost"
    ) as sim:
        app_config.update(TWILIO_API_BASE_URL=sim.rest_url)
        yield sim


def test_an_open_call_past_due_is_closed_from_twilios_final_status(
    lossy_phone: Simulator, app: Flask, session: Session
) -> None:
    lossy_phone.attach(app, busy=app.extensions["dialer"].busy)
    report = lossy_phone.call(Caller(keys=[None, None, None]))
    call = session.scalars(select(Call).where(Call.call_sid == report.sid)).one()
    assert call.ended_at is None  # the status callback was lost
    # Not yet due: nothing asked, nothing closed.
    assert reconcile_calls(app, datetime.now(UTC)) == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    assert reconcile_calls(app, later) == 1
    assert reconcile_calls(app, later) == 0  # closed once
    session.expire_all()
    call = session.scalars(select(Call).where(Call.call_sid == report.sid)).one()
    assert call.state is CallState.ENDED and call.ended_at is not None
    kinds = session.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all()
    assert kinds.count("call_ended") == 1
    assert call.ticket.outcome in (TicketOutcome.MESSAGE, TicketOutcome.ABANDONED)
