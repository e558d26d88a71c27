"""Two severity-1 callers from one account: one incident, two calls, each with its own record.

The second caller phones while the first is on hold, and again while the first is talking to
an engineer. Both calls land on one ticket; each is rung by its own product's escalation
policy, keeps its own privileged-PIN grant, and is texted what happened on its own call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from models import (
    Account,
    Call,
    CallOutcome,
    Notification,
    PinKind,
    RingAttempt,
    Ticket,
    TicketOutcome,
)
from notify.render import render
from routing.store import load_routing_text
from simulator import Caller, Engineer, Simulator
from tests.factories import Customer, make_customer

ANA, BEN = "+15005550111", "+15005550112"
FIRST, SECOND = "+15557770011", "+15557770012"

# The account's two products are each rung by their own policy: db by Ana, cloud by Ben.
ROUTING = f"""
engineers:
  ana: {{name: Ana Lima, phone: "{ANA}"}}
  ben: {{name: Ben Ito, phone: "{BEN}"}}
schedules: {{}}
policies:
  db-team:
    repeat: 0
    levels:
      - targets: [engineer: ana]
        ring_timeout: 20
  cloud-team:
    repeat: 0
    levels:
      - targets: [engineer: ben]
        ring_timeout: 20
default_policy: db-team
products: {{db: db-team, cloud: cloud-team}}
"""
DB, CLOUD = "1", "2"  # the product menu's keys, in the account's product order


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    made = make_customer(app, session, products=("db", "cloud"))
    with app.extensions["sessionmaker"]() as routing_session:
        load_routing_text(routing_session, ROUTING, "test.yaml", datetime.now(UTC))
        routing_session.commit()
    return made


def privileged_keys(app: Flask, session: Session, customer: Customer) -> str:
    account = session.get(Account, customer.account_id)
    assert account is not None
    policy = PinPolicy.from_settings(settings_of(app))
    issued = issue_pin(session, account, PinKind.PRIVILEGED, datetime.now(UTC), policy)
    session.commit()
    return issued.keypad_entry


def second_caller_when(phone: Simulator, event: str, number: str, caller: Caller) -> list[Any]:
    """Have `caller` phone in from `number` the first time `event` happens on the network."""
    placed: list[Any] = []

    def listener(kind: str, leg: Any, data: Any) -> None:
        if kind == event and not placed:
            placed.append(phone.place(caller, from_=number))

    phone.listeners.append(listener)
    return placed


def calls_by_number(session: Session) -> dict[str, Call]:
    session.expire_all()
    return {call.from_number: call for call in session.scalars(select(Call))}


def rung_for(session: Session, call: Call) -> list[str]:
    return list(
        session.scalars(
            select(RingAttempt.phone).where(RingAttempt.call_id == call.id).order_by(RingAttempt.id)
        )
    )


def caller_sms(session: Session, number: str) -> str:
    """The text the caller at `number` is sent when their call ends, as rendered."""
    [row] = session.scalars(
        select(Notification).where(
            Notification.kind == "call_ended", Notification.recipient == number
        )
    ).all()
    return render(row.kind, "sms", dict(row.payload)).body


def alert_numbers(session: Session) -> set[str | None]:
    rows = session.scalars(select(Notification).where(Notification.kind == "nobody_accepted"))
    return {row.payload.get("callback_number") for row in rows}


def test_a_second_caller_while_the_first_is_on_hold_joins_the_incident_with_its_own_record(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    privileged = privileged_keys(app, session, customer)
    # Ana never answers the first caller (db); Ben takes the second (cloud) at once.
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.accepts(after=2)}
    placed = second_caller_when(
        phone, "ringing", SECOND, Caller(keys=[privileged, CLOUD, "1"], talk=20)
    )
    first = phone.call(Caller(keys=[customer.keys, DB, "1"]), from_=FIRST)
    assert not first.failed, first.errors
    [second_leg] = placed
    assert "Connecting you to the caller." not in first.heard_text
    assert first.connected_to is None

    calls = calls_by_number(session)
    one, two = calls[FIRST], calls[SECOND]
    assert one.ticket_id == two.ticket_id
    ticket = session.get(Ticket, one.ticket_id)
    assert ticket is not None and len(ticket.calls) == 2
    assert session.scalars(select(Ticket)).all() == [ticket]
    # Each call rung by its own product's policy.
    assert one.product is not None and one.product.code == "db"
    assert two.product is not None and two.product.code == "cloud"
    assert rung_for(session, one) == [ANA]
    assert rung_for(session, two) == [BEN]
    assert [phone.legs[sid].to for sid in second_leg.bridged_with] == [BEN]
    # Each call's own outcome and record; the incident reached an engineer.
    assert one.outcome is CallOutcome.MISSED and one.answered_by is None
    assert two.outcome is CallOutcome.CONNECTED and two.answered_by == "Ben Ito"
    assert two.seconds_to_connect is not None and two.seconds_to_first_ring is not None
    assert ticket.outcome is TicketOutcome.CONNECTED
    # The second call's privileged PIN is kept on its call and granted on the incident.
    assert two.pin_kind is PinKind.PRIVILEGED and two.elevated_access_until is not None
    assert one.pin_kind is PinKind.STANDING and one.elevated_access_until is None
    assert ticket.elevated_access_until == two.elevated_access_until
    # Each caller is texted what happened on their own call.
    first_sms, second_sms = caller_sms(session, FIRST), caller_sms(session, SECOND)
    assert "You were connected" not in first_sms
    assert "call you back within 30 minutes" in first_sms
    assert "You were connected to Ben Ito" in second_sms
    # The alert about the missed call gives the number of the caller it is about.
    assert alert_numbers(session) == {FIRST}


def test_a_second_caller_while_the_first_is_connected_is_missed_on_its_own(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ANA: Engineer.accepts(after=2, talk=90), BEN: Engineer.no_answer()}
    placed = second_caller_when(
        phone, "connected", SECOND, Caller(keys=[customer.keys, CLOUD, "1"])
    )
    first = phone.call(Caller(keys=[customer.keys, DB, "1"]), from_=FIRST)
    assert not first.failed, first.errors
    assert first.connected_to == ANA
    assert placed, "the second caller never phoned"

    calls = calls_by_number(session)
    one, two = calls[FIRST], calls[SECOND]
    assert one.ticket_id == two.ticket_id
    assert rung_for(session, one) == [ANA]
    assert rung_for(session, two) == [BEN]
    assert one.outcome is CallOutcome.CONNECTED and one.answered_by == "Ana Lima"
    assert two.outcome is CallOutcome.MISSED and two.answered_by is None
    ticket = session.get(Ticket, one.ticket_id)
    assert ticket is not None and ticket.outcome is TicketOutcome.CONNECTED
    first_sms, second_sms = caller_sms(session, FIRST), caller_sms(session, SECOND)
    assert "You were connected to Ana Lima" in first_sms
    # Never told "You were connected to Ana Lima": Ana took the other caller.
    assert "You were connected" not in second_sms
    assert "call you back within 30 minutes" in second_sms
    assert alert_numbers(session) == {SECOND}


def test_a_missed_severity1_call_is_missed_on_the_ticket(
    phone: Simulator, customer: Customer, session: Session, app: Flask
) -> None:
    phone.engineers = {ANA: Engineer.no_answer()}
    call = phone.call(Caller(keys=[customer.keys, DB, "1"]), from_=FIRST)
    assert "We could not reach an on-call engineer." in call.heard_text
    [only] = calls_by_number(session).values()
    assert only.outcome is CallOutcome.MISSED
    assert only.first_ring_at is not None and only.connected_at is None
    assert only.ticket.outcome is TicketOutcome.MISSED
