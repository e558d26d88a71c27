"""PINs made on the portal, used on the phone through the Twilio-compatible simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Ticket
from simulator import Caller, Simulator
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.portal.conftest import Customer, Portal
from tests.portal.test_pins import revealed


@pytest.fixture
def phone(app_config: dict[str, Any]) -> Iterator[Simulator]:
    """A phone network that calls the app as Twilio would, signing every webhook."""
    with Simulator(PUBLIC_BASE_URL, TEST_AUTH_TOKEN, TEST_ACCOUNT_SID, max_wall=60) as sim:
        app_config.update(TWILIO_API_BASE_URL=sim.rest_url, ONCALL_NUMBER="+15005550101")
        yield sim


@pytest.fixture
def app(phone: Simulator, app: Flask) -> Flask:
    """The app under test, attached to the simulator (built after `phone` set its config)."""
    phone.attach(app, busy=app.extensions["dialer"].busy)
    return app


def test_one_time_pin_from_the_portal_works_once_on_the_phone(
    phone: Simulator,
    as_acme: Portal,
    acme: Customer,
    session: Session,
) -> None:
    page = as_acme.post("/portal/pin/one-time").get_data(as_text=True)
    kind, _, keypad = revealed(page)
    assert kind == "one_time"
    first = phone.call(Caller(keys=[keypad, "2"]))
    assert "That PIN was not recognised" not in first.heard_text
    second = phone.call(Caller(keys=[keypad, keypad, keypad]))
    assert "That PIN was not recognised" in second.heard_text or "already" in second.heard_text
    session.expire_all()
    tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert tickets[0].account_id == acme.account.id
    assert tickets[-1].account_id is None


def test_a_renewed_pin_stops_the_old_one_at_once_on_the_phone(
    phone: Simulator,
    as_acme: Portal,
    acme: Customer,
    session: Session,
) -> None:
    _, old, _ = revealed(
        as_acme.post("/portal/pin/show", {"kind": "standing"}).get_data(as_text=True)
    )
    page = as_acme.post("/portal/pin/renew").get_data(as_text=True)
    assert "the old one no longer does" in page
    _, new, _ = revealed(page)
    assert new != old
    refused = phone.call(Caller(keys=[old, old, old]))
    assert "That PIN was not recognised" in refused.heard_text
    accepted = phone.call(Caller(keys=[new, "2"]))
    assert "That PIN was not recognised" not in accepted.heard_text
    session.expire_all()
    assert (
        session.scalars(select(Ticket).order_by(Ticket.id.desc())).first().account_id
        == acme.account.id
    )
