"""Ringing engineers through the phone simulator: screening, escalation, races, hang-ups."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification, RingAttempt, Ticket, TicketOutcome
from models.ringing import AttemptStatus
from routing.store import load_routing_text
from simulator import Caller, Engineer, Simulator
from tests.factories import Customer, make_customer

ANA, BEN = "+15005550111", "+15005550112"

ROUTING = """
engineers:
  ana: {{name: Ana Lima, phone: "{ana}", email: ana@example.com, timezone: Europe/Lisbon}}
  ben: {{name: Ben Ito, phone: "{ben}", email: ben@example.com, timezone: Asia/Tokyo}}
schedules:
  primary:
    timezone: UTC
    layers:
      - rotation: weekly
        start: "2026-01-05 09:00"
        participants: [ana]
policies:
  main:
    repeat: {repeat}
    levels:
{levels}
default_policy: main
products: {{}}
"""

SCHEDULE_THEN_BEN = """      - targets: [schedule: primary]
        ring_timeout: 20
      - targets: [engineer: ben]
        ring_timeout: 20"""
BOTH_AT_ONCE = """      - targets: [engineer: ana, engineer: ben]
        strategy: simultaneous
        ring_timeout: 20"""
ONE_AFTER_ANOTHER = """      - targets: [engineer: ana, engineer: ben]
        strategy: sequential
        ring_timeout: 20"""


def load(app: Flask, levels: str, repeat: int = 0) -> None:
    text = ROUTING.format(ana=ANA, ben=BEN, repeat=repeat, levels=levels)
    with app.extensions["sessionmaker"]() as session:
        load_routing_text(session, text, "test.yaml", datetime.now(UTC))
        session.commit()


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


def ticket_of(session: Session) -> Ticket:
    session.expire_all()
    return session.scalars(select(Ticket)).one()


def attempts(session: Session) -> list[tuple[str, AttemptStatus]]:
    session.expire_all()
    rows = session.scalars(select(RingAttempt).order_by(RingAttempt.id))
    return [(row.phone, row.status) for row in rows]


def severity1(customer: Customer, **options: object) -> Caller:
    return Caller(keys=[customer.keys, "1"], **options)  # type: ignore[arg-type]


def test_on_call_engineer_accepts_and_is_connected(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.accepts(after=6), BEN: Engineer.accepts(after=1)}
    call = phone.call(severity1(customer))
    assert not call.failed, call.errors
    assert call.connected_to == ANA
    ana = call.leg_to(ANA)
    assert "Severity 1, Acme Corp. Press 1 to take it." in ana.heard_text
    assert all(leg.to != BEN for leg in call.legs)  # level 2 is never rung
    assert attempts(session) == [(ANA, AttemptStatus.ACCEPTED)]
    ticket = ticket_of(session)
    assert ticket.outcome is TicketOutcome.CONNECTED
    accepted = next(e for e in ticket.events if e.kind == "accepted")
    assert accepted.detail["engineer_name"] == "Ana Lima"


def test_first_engineer_passes_and_the_second_accepts(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, ONE_AFTER_ANOTHER)
    phone.engineers = {ANA: Engineer.passes(after=3), BEN: Engineer.accepts(after=3)}
    call = phone.call(severity1(customer))
    assert call.connected_to == BEN
    assert attempts(session) == [(ANA, AttemptStatus.PASSED), (BEN, AttemptStatus.ACCEPTED)]
    assert ticket_of(session).outcome is TicketOutcome.CONNECTED


def test_busy_engineer_is_skipped(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, ONE_AFTER_ANOTHER)
    phone.engineers = {ANA: Engineer.busy_line(), BEN: Engineer.accepts(after=2)}
    call = phone.call(severity1(customer))
    assert call.connected_to == BEN
    assert attempts(session) == [(ANA, AttemptStatus.BUSY), (BEN, AttemptStatus.ACCEPTED)]


def test_voicemail_answering_first_never_takes_the_call_nor_stops_the_others(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, BOTH_AT_ONCE)
    phone.engineers = {ANA: Engineer.voicemail_box(after=1), BEN: Engineer.accepts(after=8)}
    call = phone.call(severity1(customer))
    assert call.connected_to == BEN
    assert call.connected_party != "voicemail"
    assert dict(attempts(session)) == {ANA: AttemptStatus.VOICEMAIL, BEN: AttemptStatus.ACCEPTED}


def test_two_engineers_pressing_1_together_exactly_one_gets_the_caller(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, BOTH_AT_ONCE)
    phone.engineers = {ANA: Engineer.accepts(after=5), BEN: Engineer.accepts(after=5)}
    call = phone.call(severity1(customer))
    assert call.connected_to in (ANA, BEN)
    loser = BEN if call.connected_to == ANA else ANA
    assert call.leg_to(loser).bridged_with == []
    statuses = dict(attempts(session))
    assert statuses[call.connected_to] is AttemptStatus.ACCEPTED
    assert statuses[loser] is not AttemptStatus.ACCEPTED
    accepted = [e for e in ticket_of(session).events if e.kind == "accepted"]
    assert len(accepted) == 1


def test_nobody_answering_through_every_repeat_takes_a_message_and_alerts(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN, repeat=1)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    call = phone.call(severity1(customer))
    assert attempts(session) == [
        (ANA, AttemptStatus.NO_ANSWER),
        (BEN, AttemptStatus.NO_ANSWER),
        (ANA, AttemptStatus.NO_ANSWER),
        (BEN, AttemptStatus.NO_ANSWER),
    ]
    assert "An engineer will call you back within 30 minutes." in call.heard_text
    ticket = ticket_of(session)
    assert ticket.outcome is TicketOutcome.MISSED
    assert "nobody_accepted" in [event.kind for event in ticket.events]
    alerts = session.scalars(
        select(Notification.recipient).where(Notification.kind == "nobody_accepted")
    ).all()
    # Ana (on call, first level) gets the callback task's text; nobody gets the same news twice.
    assert {"role:managers", BEN} <= set(alerts) and ANA not in alerts
    opened = session.scalars(
        select(Notification.recipient).where(Notification.kind == "task_opened")
    ).all()
    assert opened == [ANA]


def test_caller_on_hold_hears_progress_at_least_every_30_seconds(
    app: Flask, phone: Simulator, customer: Customer
) -> None:
    load(app, SCHEDULE_THEN_BEN, repeat=1)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    call = phone.call(severity1(customer))
    spoken = [u.at for u in call.caller.heard if u.kind == "say"]
    on_hold = [at for at in spoken if call.first_ring is not None and at >= call.first_ring]
    hold_end = next(
        u.at for u in call.caller.heard if "We could not reach an on-call engineer" in u.text
    )
    moments = [call.first_ring or 0.0, *[at for at in on_hold if at <= hold_end]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert gaps and max(gaps) <= 30


def test_caller_hanging_up_mid_ring_cancels_every_engineer_call(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, BOTH_AT_ONCE)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    call = phone.call(severity1(customer, hangup_after=12))
    assert dict(attempts(session)) == {
        ANA: AttemptStatus.CANCELLED,
        BEN: AttemptStatus.CANCELLED,
    }
    for number in (ANA, BEN):
        assert call.leg_to(number).status == "canceled"
    ticket = ticket_of(session)
    assert ticket.outcome is TicketOutcome.ABANDONED_RINGING
    kinds = [event.kind for event in ticket.events]
    assert "callback_task" in kinds
    assert [e.detail["step"] for e in ticket.events if e.kind == "abandoned"] == ["ringing"]


def test_a_step_whose_phones_stop_ringing_together_escalates_at_once_and_only_once(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, BOTH_AT_ONCE, repeat=1)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    call = phone.call(severity1(customer))
    # Both status callbacks arrive at the same instant; exactly one opens the second round.
    assert [status for _, status in attempts(session)] == [AttemptStatus.NO_ANSWER] * 4
    first_round = [leg for leg in call.legs if leg.to in (ANA, BEN)][:2]
    second_round = [leg for leg in call.legs if leg.to in (ANA, BEN)][2:]
    assert len(second_round) == 2
    gap = min(leg.rang_at for leg in second_round) - max(leg.ended_at for leg in first_round)
    assert gap < 5, f"the second round started {gap:.0f} s after the first ended"
