"""Webhooks driven directly, signed like Twilio: security, idempotency, failure handling."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.db import make_engine
from models import Call, PinAttempt, RingAttempt, Ticket, TicketOutcome
from tests.factories import Customer, SignedTwilio

ONCALL = "+15005550101"
EMERGENCY = "+15005550911"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ONCALL_NUMBER=ONCALL, EMERGENCY_NUMBER=EMERGENCY)
    return app_config


def twiml(response: Any) -> ET.Element:
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def ticket_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_unsigned_request_is_refused_and_changes_nothing(
    twilio: SignedTwilio, session: Session
) -> None:
    response = twilio.post("/ivr/voice", signature="")
    assert response.status_code == 403
    assert ticket_count(session) == 0


def test_forged_signature_is_refused(twilio: SignedTwilio, session: Session) -> None:
    response = twilio.post("/ivr/voice", signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert ticket_count(session) == 0


def test_signature_is_checked_against_the_public_url_not_the_internal_host(
    twilio: SignedTwilio,
) -> None:
    # The test client talks to http://localhost; Twilio signed https://hotline.example.test.
    assert twilio.post("/ivr/voice").status_code == 200


def test_repeated_first_webhook_makes_one_ticket(twilio: SignedTwilio, session: Session) -> None:
    first = twiml(twilio.post("/ivr/voice"))
    second = twiml(twilio.post("/ivr/voice"))
    assert first.find("Gather") is not None and second.find("Gather") is not None
    assert ticket_count(session) == 1


def test_retried_pin_webhook_is_answered_once(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    first = twilio.post("/ivr/pin", token="retry-token-1", Digits="00000000")
    again = twilio.post("/ivr/pin", token="retry-token-1", Digits="00000000")
    assert first.data == again.data
    attempts = session.scalar(select(func.count()).select_from(PinAttempt))
    assert attempts == 1


def test_severity1_holds_the_caller_and_rings_the_oncall_number(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    assert twiml(twilio.post("/ivr/pin", Digits=customer.keys)).find("Gather") is not None
    root = twiml(twilio.post("/ivr/severity", Digits="1"))
    assert root.find("Enqueue") is not None
    # Step 0 only: no Twilio answers here, so the dialer may already have failed it and rung
    # the number's second step.
    attempt = session.scalars(select(RingAttempt).where(RingAttempt.step == 0)).one()
    assert attempt.phone == ONCALL
    ticket = session.scalars(select(Ticket)).one()
    assert (ticket.severity, ticket.account_id) == (1, customer.account_id)


def test_failing_database_sends_a_severity1_caller_to_the_emergency_number(
    app: Flask, twilio: SignedTwilio, customer: Customer, tmp_path: Any
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    broken = make_engine(f"sqlite:///{tmp_path}/no/such/dir/kernel.db")
    app.extensions["sessionmaker"] = sessionmaker(broken)
    root = twiml(twilio.post("/ivr/severity", Digits="1"))
    assert root.findtext("Dial") == EMERGENCY
    assert "technical trouble" in (root.findtext("Say") or "")


def test_status_callback_marks_an_unfinished_call_abandoned_at_its_step(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    response = twilio.post("/ivr/status", CallStatus="completed", CallDuration="14")
    again = twilio.post("/ivr/status", CallStatus="completed", CallDuration="14")
    assert response.status_code == 204 and again.status_code == 204
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.outcome is TicketOutcome.ABANDONED
    kinds = [event.kind for event in ticket.events]
    assert kinds.count("abandoned") == 1
    abandoned = next(event for event in ticket.events if event.kind == "abandoned")
    assert abandoned.detail == {"step": "severity"}
    call = session.scalars(select(Call)).one()
    assert call.duration_seconds == 14


def test_status_callback_for_an_unknown_call_is_accepted_quietly(twilio: SignedTwilio) -> None:
    assert twilio.post("/ivr/status", CallStatus="completed").status_code == 204


def test_fallback_needs_no_database(app: Flask, twilio: SignedTwilio, tmp_path: Any) -> None:
    app.extensions["sessionmaker"] = sessionmaker(make_engine(f"sqlite:///{tmp_path}/x/y.db"))
    root = twiml(twilio.post("/ivr/fallback", ErrorCode="11200", ErrorUrl="https://x/ivr/voice"))
    # Nothing can be checked: the caller hears why and chooses; 1 puts them through.
    assert "cannot check your support PIN" in (root.findtext("Gather/Say") or "")
    root = twiml(twilio.post("/ivr/degraded/choice", Digits="1"))
    assert root.findtext("Dial") == EMERGENCY
