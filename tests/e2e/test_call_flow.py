"""Whole calls through the phone simulator: every path a caller can take, and its ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from entitlement.verify import verify_pin
from kernel.config import settings_of
from kernel.db import make_engine
from models import Account, Call, Notification, PinKind, Ticket, TicketOutcome
from simulator import Caller, Engineer, Prompt, Simulator
from tests.e2e.conftest import ACCOUNT_MANAGEMENT, EMERGENCY, ONCALL
from tests.factories import Customer, make_customer

WRONG = "00000000"


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


def only_ticket(session: Session) -> Ticket:
    session.expire_all()
    return session.scalars(select(Ticket)).one()


def event_kinds(ticket: Ticket) -> list[str]:
    return [event.kind for event in ticket.events]


def test_severity1_caller_is_connected_to_the_engineer_who_accepts(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=4)}
    call = phone.call(Caller(keys=[customer.keys, "1"]))
    assert not call.failed, call.errors
    assert call.connected_to == ONCALL
    engineer_leg = call.leg_to(ONCALL)
    assert engineer_leg is not None
    assert "Severity 1, Acme Corp. Press 1 to take it." in engineer_leg.heard_text
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.CONNECTED
    assert (ticket.severity, ticket.account_id) == (1, customer.account_id)
    kinds = event_kinds(ticket)
    for kind in ("call_started", "pin_ok", "entitlement", "severity", "ring_attempt", "accepted"):
        assert kind in kinds
    assert "call_ended" in kinds


def test_severity2_caller_leaves_a_transcribed_message_and_hears_the_ticket_number(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    call = phone.call(
        Caller(keys=[customer.keys, "2", "2"], message="Reports are slow since noon.")
    )
    ticket = only_ticket(session)
    assert f"Your ticket number is H L {' '.join(str(ticket.id))}." in call.heard_text
    assert ticket.outcome is TicketOutcome.MESSAGE and ticket.severity == 2
    assert ticket.description == "Reports are slow since noon."
    assert {"recording", "transcription", "recording_status"} <= set(event_kinds(ticket))


@pytest.mark.parametrize(
    ("follow_up", "severity", "target"),
    # No answer to "how bad" is taken as the more urgent of the two.
    [("2", 2, "4 hours"), ("3", 3, "1 day"), (None, 2, "4 hours")],
    ids=["degraded", "question", "no-answer"],
)
def test_not_down_asks_one_follow_up_and_records_its_severity_with_the_response_target(
    phone: Simulator,
    customer: Customer,
    session: Session,
    follow_up: str | None,
    severity: int,
    target: str,
) -> None:
    call = phone.call(Caller(keys=[customer.keys, "2", follow_up, follow_up]))
    assert not call.failed, call.errors
    assert (
        "If work is seriously degraded, press 2. For a question or minor problem, press 3."
        in call.heard_text
    )
    assert f"Support will respond within {target}." in call.heard_text
    assert call.legs == []  # nobody is rung for a message
    ticket = only_ticket(session)
    assert ticket.severity == severity
    assert ticket.outcome is TicketOutcome.MESSAGE
    assert ticket.response_due_at is not None
    hours = {"4 hours": 4, "1 day": 24}[target]
    assert ticket.response_due_at - ticket.created_at == pytest.approx(
        timedelta(hours=hours), abs=timedelta(minutes=5)
    )
    [sms] = session.scalars(select(Notification).where(Notification.kind == "call_ended")).all()
    assert sms.payload["respond_within"] == target


def test_wrong_pin_is_asked_again_then_accepted(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    call = phone.call(Caller(keys=[WRONG, customer.keys, "2"]))
    again = "That PIN was not recognised. Please try again. Enter your PIN."
    assert any(heard.startswith(again) for heard in call.heard)
    assert only_ticket(session).account_id == customer.account_id


def test_three_wrong_pins_name_the_portal_and_offer_the_way_through_without_a_pin(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    call = phone.call(Caller(keys=[WRONG, WRONG, WRONG]))
    assert "Your support PIN is on the customer portal, hotline.example.test/portal." in (
        call.heard_text
    )
    assert "Enter your company's registered phone number" in call.heard_text
    assert "after the tone" in call.heard_text
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.MESSAGE and ticket.account_id is None
    assert event_kinds(ticket).count("pin_failed") == 3


def test_silence_is_reprompted_once_then_a_message_is_taken(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    call = phone.call(Caller(keys=[None, None]))
    assert "I didn't hear a PIN. Enter your PIN." in call.heard_text
    assert "after the tone" in call.heard_text
    assert only_ticket(session).outcome is TicketOutcome.MESSAGE


def test_locked_out_number_hears_when_to_try_again_and_gets_a_ticket(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    policy = PinPolicy.from_settings(settings_of(app))
    now = datetime.now(UTC)
    for attempt in range(5):
        verify_pin(session, WRONG, "+14155550100", f"CA-old-{attempt}", now, policy)
    session.commit()
    call = phone.call(
        Caller(keys=[customer.keys], message="It is me, the real Ann."), from_="+14155550100"
    )
    assert "try again" in call.heard_text.lower()
    # Locked out, yet heard: the caller can still leave a message, and the ticket says why.
    assert "after the tone" in call.heard_text
    assert call.connected_to is None
    ticket = only_ticket_of_call(session, call.sid)
    assert ticket.outcome is TicketOutcome.REFUSED
    assert ticket.refusal_reason and ticket.refusal_reason.startswith("locked out")
    assert "recording" in event_kinds(ticket)
    assert f"H L {' '.join(str(ticket.id))}" in call.heard_text
    assert customer.keys not in str(call.heard)


def only_ticket_of_call(session: Session, call_sid: str) -> Ticket:
    session.expire_all()
    call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one()
    return call.ticket


def test_caller_who_is_not_entitled_hears_why_and_leaves_a_message(
    app: Flask, phone: Simulator, session: Session
) -> None:
    expired = make_customer(app, session, name="Globex", entitled=False)
    call = phone.call(Caller(keys=[expired.keys]))
    assert "We can't open a support call: your support licences expired on" in call.heard_text
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.REFUSED
    assert ticket.refusal_reason and ticket.refusal_reason.startswith("your support licences")
    assert "recording" in event_kinds(ticket)


@pytest.fixture
def extra_config() -> dict[str, str]:
    """Settings a test adds to its app: parametrize this name to set them."""
    return {}


@pytest.fixture
def app_config(app_config: dict[str, Any], extra_config: dict[str, str]) -> dict[str, Any]:
    app_config.update(extra_config)
    return app_config


@pytest.mark.parametrize(
    "extra_config", [{"ACCOUNT_MANAGEMENT_NUMBER": ACCOUNT_MANAGEMENT}], ids=["account-management"]
)
def test_not_entitled_caller_is_offered_account_management(
    app: Flask, phone: Simulator, session: Session
) -> None:
    expired = make_customer(app, session, name="Globex", entitled=False)
    phone.engineers = {ACCOUNT_MANAGEMENT: Engineer.accepts(after=2)}
    call = phone.call(Caller(keys=[expired.keys]))
    assert "Connecting you to account management." in call.heard_text
    assert ACCOUNT_MANAGEMENT in call.dialled
    assert only_ticket(session).outcome is TicketOutcome.REFUSED


def test_account_with_several_products_gets_a_product_menu(
    app: Flask, phone: Simulator, session: Session
) -> None:
    both = make_customer(app, session, name="Initech", products=("db", "cloud"))
    call = phone.call(Caller(keys=[both.keys, "2", "2"]))
    assert "For Db, press 1. For Cloud, press 2." in call.heard_text
    ticket = only_ticket(session)
    assert ticket.product is not None and ticket.product.code == "cloud"


def test_privileged_pin_grants_elevated_access_and_alerts_managers(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    account = session.get(Account, customer.account_id)
    assert account is not None
    policy = PinPolicy.from_settings(settings_of(app))
    privileged = issue_pin(session, account, PinKind.PRIVILEGED, datetime.now(UTC), policy)
    session.commit()
    phone.call(Caller(keys=[privileged.keypad_entry, "2"]))
    ticket = only_ticket(session)
    assert ticket.account_id == customer.account_id
    assert ticket.elevated_access_until is not None
    assert ticket.elevated_access_until > datetime.now(UTC) + timedelta(hours=23)
    alerts = session.scalars(
        select(Notification.kind).where(Notification.kind == "privileged_pin_used")
    ).all()
    assert len(alerts) == 2


@pytest.mark.parametrize(
    ("gather", "keys", "step"),
    [(1, [], "pin"), (2, ["KEYS"], "severity"), (3, ["KEYS", "1"], "ringing")],
    ids=["at-pin", "at-severity", "while-ringing"],
)
def test_hang_up_leaves_an_abandoned_ticket_at_that_step(
    phone: Simulator, customer: Customer, session: Session, gather: int, keys: list[str], step: str
) -> None:
    phone.engineers = {ONCALL: Engineer.no_answer()}
    scripted = [customer.keys if key == "KEYS" else key for key in keys]
    if step == "ringing":
        caller = Caller(keys=scripted, hangup_on="Connecting you to the on-call engineer.")
    else:
        caller = Caller(keys=scripted, hangup_at_gather=gather)
    phone.call(caller)
    ticket = only_ticket(session)
    # Hanging up while engineers ring is told apart: someone has to call that caller back.
    expected = TicketOutcome.ABANDONED_RINGING if step == "ringing" else TicketOutcome.ABANDONED
    assert ticket.outcome is expected
    assert [call.outcome.value for call in ticket.calls if call.outcome] == [expected.value]
    abandoned = [event for event in ticket.events if event.kind == "abandoned"]
    assert [event.detail["step"] for event in abandoned] == [step]


def test_hang_up_at_product_menu_is_abandoned_there(
    app: Flask, phone: Simulator, session: Session
) -> None:
    both = make_customer(app, session, name="Initech", products=("db", "cloud"))
    phone.call(Caller(keys=[both.keys], hangup_at_gather=2))
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.ABANDONED
    assert [e.detail["step"] for e in ticket.events if e.kind == "abandoned"] == ["product"]


def test_nobody_answering_the_oncall_number_leads_to_a_message(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.no_answer()}
    call = phone.call(Caller(keys=[customer.keys, "1"]))
    assert "We could not reach an on-call engineer." in call.heard_text
    assert "An engineer will call you back within 30 minutes." in call.heard_text
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.MISSED
    # The configured number is tried twice before the caller is asked for a message.
    results = [e.detail["result"] for e in ticket.events if e.kind == "ring_attempt"]
    assert results == ["no_answer", "no_answer"]


def test_voicemail_answering_the_oncall_number_never_takes_the_call(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.voicemail_box(after=1)}
    call = phone.call(Caller(keys=[customer.keys, "1"]))
    assert call.connected_party != "voicemail"
    # Nobody accepted a severity-1 call: missed, not just another message.
    assert only_ticket(session).outcome is TicketOutcome.MISSED


def test_second_severity1_call_within_30_minutes_joins_the_open_ticket(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=2)}
    phone.call(Caller(keys=[customer.keys, "1"]))
    phone.engineers = {ONCALL: Engineer.accepts(after=2)}
    phone.call(Caller(keys=[customer.keys, "1"]))
    session.expire_all()
    tickets = session.scalars(select(Ticket)).all()
    assert len(tickets) == 1
    assert len(tickets[0].calls) == 2


def test_failing_database_during_severity1_call_reaches_the_emergency_number(
    app: Flask, phone: Simulator, customer: Customer, tmp_path: Any
) -> None:
    broken = sessionmaker(make_engine(f"sqlite:///{tmp_path}/gone/kernel.db"))

    def keys(prompt: Prompt) -> str | None:
        if prompt.number == 1:
            return customer.keys
        # The database fails just as the caller says service is down.
        app.extensions["sessionmaker"] = broken
        return "1"

    phone.engineers = {EMERGENCY: Engineer.accepts(after=2)}
    call = phone.call(Caller(keys=keys))
    assert not call.failed, call.errors
    assert "an application error" not in call.heard_text
    assert call.connected_to == EMERGENCY


def test_forged_signature_is_a_failed_call_and_no_ticket(
    phone: Simulator, session: Session
) -> None:
    phone.webhooks.signature = "forged"
    call = phone.call(Caller(keys=["12345678"]))
    assert call.failed
    assert session.scalars(select(Ticket)).all() == []
