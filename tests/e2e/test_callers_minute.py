"""The caller's minute, branch by branch through the phone simulator: a caller in an outage
always gets through (fast), never loops, and never hears a promise nobody will keep."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from models import Account, Call, Notification, PinKind, Task, Ticket, TicketOutcome
from routing.store import load_routing_text
from simulator import Caller, Engineer, Prompt, Simulator
from tests.e2e.conftest import ONCALL
from tests.e2e.numbers import GERMAN_NUMBER, TWO_LANGUAGES
from tests.factories import Customer, make_customer

REGISTERED = "+14155550100"  # Ann Ops, the customer's technical contact
STRANGER = "+15557654321"


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


def only_ticket(session: Session) -> Ticket:
    session.expire_all()
    return session.scalars(select(Ticket)).one()


def kinds(ticket: Ticket) -> list[str]:
    return [event.kind for event in ticket.events]


def texted_code(phone: Simulator, to: str) -> Callable[[Prompt], str | None]:
    """A caller's keys: the code from the text that reached `to` (waits for it to arrive)."""

    def keys(prompt: Prompt) -> str | None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for message in reversed(phone.messages):
                found = re.search(r"one-time code is (\d+)", message["body"])
                if message["to"] == to and found:
                    return found.group(1)
            time.sleep(0.05)
        return None

    return keys


def script(*steps: str | Callable[[Prompt], str | None] | None) -> Callable[[Prompt], str | None]:
    """Keys per Gather, where a step may be a rule reading the prompt."""
    remaining = list(steps)

    def keys(prompt: Prompt) -> str | None:
        if not remaining:
            return None
        step = remaining.pop(0)
        return step(prompt) if callable(step) else step

    return keys


# -- connected fast, engineer side -----------------------------------------------------------


def test_an_engineer_who_presses_1_at_once_takes_the_caller_without_a_word_more(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer(answer_after=6, keys=("1",), press="barge")}
    call = phone.call(Caller(keys=[customer.keys, "1"], press="after"))
    assert not call.failed, call.errors
    engineer = call.leg_to(ONCALL)
    whisper = [u for u in engineer.heard if "Severity 1, Acme Corp" in u.text]
    assert whisper and whisper[0].interrupted  # the 1 key stopped the whisper
    assert "Connecting you to the caller" not in engineer.heard_text
    assert "You're through." in call.heard_text


def test_an_engineer_who_listens_hears_one_short_sentence_before_the_caller_is_theirs(
    phone: Simulator, customer: Customer
) -> None:
    # The seconds are measured by bench/call_flow.py; here, what is said on the way.
    phone.engineers = {ONCALL: Engineer(answer_after=6, keys=("1",), press="after")}
    call = phone.call(Caller(keys=[customer.keys, "1"], press="after"))
    assert not call.failed, call.errors
    heard = [u.text for u in call.leg_to(ONCALL).heard]
    assert heard == ["Severity 1, Acme Corp. Press 1 to take it."]
    assert call.connected is not None


# -- no loops, no silence to voicemail for the urgent ----------------------------------------


def test_silence_at_the_severity_question_is_asked_once_more_then_taken_as_severity_1(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    call = phone.call(Caller(keys=[customer.keys, None, None]))
    assert not call.failed, call.errors
    assert call.heard_text.count("Complete outage? Press 1.") == 2
    assert "We will treat this as a complete outage." in call.heard_text
    assert call.connected_to == ONCALL
    ticket = only_ticket(session)
    assert ticket.severity == 1 and ticket.outcome is TicketOutcome.CONNECTED
    assert "severity_assumed" in kinds(ticket)


def test_three_wrong_keys_at_the_severity_question_ring_the_engineers(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    call = phone.call(Caller(keys=[customer.keys, "7", "8", "9", "9", "9"]))
    assert call.heard_text.count("That isn't one of the choices.") == 2 + 1
    assert call.connected_to == ONCALL
    assert only_ticket(session).severity == 1


def test_three_wrong_keys_at_the_follow_up_take_a_severity_2_message(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    call = phone.call(Caller(keys=[customer.keys, "2", "9", "9", "9"]))
    assert "We will treat this as seriously degraded." in call.heard_text
    ticket = only_ticket(session)
    assert ticket.severity == 2 and ticket.outcome is TicketOutcome.MESSAGE


def test_each_pin_prompt_says_each_sentence_once(phone: Simulator, customer: Customer) -> None:
    call = phone.call(Caller(keys=[None, customer.keys, "2", "3"]))
    for utterance in call.heard:
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", utterance) if s]
        assert len(sentences) == len(set(sentences)), utterance
    assert "I didn't hear a PIN. Enter your PIN." in call.heard_text
    assert "For a PIN that starts with P, press star, then the digits." in call.heard_text


# -- the privileged PIN ----------------------------------------------------------------------


def test_a_privileged_pin_typed_with_star_gets_through_and_7_for_p_is_told_how(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    policy = PinPolicy.from_settings(settings_of(app))
    account = session.get(Account, customer.account_id)
    assert account is not None
    issued = issue_pin(session, account, PinKind.PRIVILEGED, datetime.now(UTC), policy)
    session.commit()
    keys = issued.keypad_entry
    assert keys.startswith("*")
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    call = phone.call(Caller(keys=["7" + keys[1:], keys, "1"]))
    assert "press star instead of 7, then the other digits" in call.heard_text
    assert call.connected_to == ONCALL
    assert only_ticket(session).elevated_access_until is not None


# -- the way through without a PIN -----------------------------------------------------------


def test_a_registered_caller_without_a_pin_gets_a_texted_code_and_reaches_an_engineer(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    caller = Caller(keys=script("**", texted_code(phone, REGISTERED), "1"))
    call = phone.call(caller, from_=REGISTERED)
    assert not call.failed, call.errors
    assert "We have texted a one-time code to the registered phone ending 0 1 0 0." in (
        call.heard_text
    )
    assert call.connected_to == ONCALL
    ticket = only_ticket(session)
    assert ticket.account_id == customer.account_id and ticket.severity == 1
    recorded = session.scalars(select(Call.pin_kind)).one()
    assert recorded is PinKind.TEXTED_CODE
    assert "code_sent" in kinds(ticket)
    alerts = session.scalars(
        select(Notification.channel).where(Notification.kind == "texted_code_used")
    ).all()
    assert len(alerts) == 2  # SMS and email to managers
    # The code is nowhere in the database, only in the text.
    code = texted_code(phone, REGISTERED)(Prompt(0, "", [], ""))
    assert code is not None
    for notification in session.scalars(select(Notification)):
        assert code not in str(notification.payload)


def test_an_unregistered_caller_keys_the_registered_number_and_gets_through(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    caller = Caller(keys=script("**", "14155550100#", texted_code(phone, REGISTERED), "1"))
    call = phone.call(caller, from_=STRANGER)
    assert not call.failed, call.errors
    assert "Enter your company's registered phone number" in call.heard_text
    assert call.connected_to == ONCALL
    # The code went to the registered contact, never to the number calling.
    assert all(message["to"] != STRANGER for message in call.messages if "code" in message["body"])


def test_a_caller_nobody_registered_can_vouch_for_leaves_a_message_that_becomes_a_task(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    caller = Caller(keys=["**", "4420794600000#", "4420794600001#", "4420794600002#"])
    call = phone.call(caller, from_=STRANGER)
    assert not call.failed, call.errors
    assert call.heard_text.count("That number is not registered with us.") == 2
    assert "We can't reach a registered contact" in call.heard_text
    assert "An engineer will call you back within 30 minutes." in call.heard_text
    ticket = only_ticket(session)
    assert ticket.outcome is TicketOutcome.MESSAGE
    task = session.scalars(select(Task)).one()
    assert "without a PIN" in task.title and task.callback_number == STRANGER
    assert not any("one-time code" in message["body"] for message in call.messages)


def test_three_wrong_pins_lead_to_the_way_through_without_a_pin(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    wrong = "00000000"
    caller = Caller(keys=script(wrong, wrong, wrong, texted_code(phone, REGISTERED), "1"))
    call = phone.call(caller, from_=REGISTERED)
    assert not call.failed, call.errors
    third = call.heard[3]
    assert third.startswith("That PIN was not recognised. Your support PIN is on the customer"), (
        third
    )
    assert "We have texted a one-time code to the registered phone ending 0 1 0 0." in third
    assert call.connected_to == ONCALL


# -- one-time PIN redial grace ---------------------------------------------------------------


def test_a_one_time_pin_whose_call_dropped_works_again_from_the_same_number(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    policy = PinPolicy.from_settings(settings_of(app))
    account = session.get(Account, customer.account_id)
    assert account is not None
    issued = issue_pin(session, account, PinKind.ONE_TIME, datetime.now(UTC), policy)
    session.commit()
    phone.engineers = {ONCALL: Engineer.no_answer()}
    # The first call drops while engineers are rung.
    dropped = phone.call(Caller(keys=[issued.keypad_entry, "1"], hangup_after=20), from_=REGISTERED)
    assert dropped.connected is None
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    again = phone.call(Caller(keys=[issued.keypad_entry, "1"]), from_=REGISTERED)
    assert "already been used" not in again.heard_text
    assert again.connected_to == ONCALL
    session.expire_all()
    tickets = session.scalars(select(Ticket)).all()
    assert len(tickets) == 1  # the redial joined the same ticket
    assert "redial" in kinds(tickets[0])
    # From another number the spent PIN stays spent.
    other = phone.call(Caller(keys=[issued.keypad_entry]), from_=STRANGER)
    assert "That one-time PIN has already been used." in other.heard_text


ONE_ENGINEER_LONG_RING = """
engineers:
  ann:
    name: Ann Berg
    phone: "+15005550101"
    timezone: Europe/Berlin
schedules: {}
policies:
  slow:
    levels:
      - targets: [{engineer: ann}]
        ring_timeout: 90
default_policy: slow
"""


# -- hold that informs -----------------------------------------------------------------------


def test_hold_says_something_new_each_turn_and_1_leaves_a_message_with_a_callback(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    load_routing_text(session, ONE_ENGINEER_LONG_RING, "slow.yaml", datetime.now(UTC))
    session.commit()
    phone.engineers = {ONCALL: Engineer.no_answer()}

    def keys(prompt: Prompt) -> str | None:
        if prompt.number == 1:
            return customer.keys
        if prompt.number == 2:
            return "1"
        # On hold: listen to the turns until the one offering a message, then press 1.
        return "1" if "Press 1 to leave a message" in prompt.prompt else None

    call = phone.call(Caller(keys=keys, press="after"))
    assert not call.failed, call.errors
    held = call.heard_text
    assert "We are ringing one engineer." in held
    ticket = only_ticket(session)
    assert f"Your ticket number is H L {' '.join(str(ticket.id))}." in held
    assert "An engineer will call you back within 30 minutes." in held
    assert ticket.outcome is TicketOutcome.MESSAGE
    assert "hold_message_chosen" in kinds(ticket)
    assert session.scalars(select(Task)).one().callback_number == "+15557654321"


# -- worldwide: a second number in a second language -----------------------------------------


def test_the_german_number_speaks_german_and_9_switches_to_english(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    load_routing_text(session, TWO_LANGUAGES, "numbers.yaml", datetime.now(UTC))
    session.commit()
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    german = phone.call(Caller(keys=[customer.keys, "1"]), to=GERMAN_NUMBER)
    assert not german.failed, german.errors
    assert "Geben Sie Ihre PIN ein." in german.heard_text
    assert "Totalausfall? Drücken Sie 1." in german.heard_text
    assert "Sie sind verbunden." in german.heard_text
    assert german.connected_to == ONCALL
    switched = phone.call(Caller(keys=["9", customer.keys, "1"]), to=GERMAN_NUMBER)
    assert "For English, press 9." in switched.heard_text
    assert "Complete outage? Press 1." in switched.heard_text
    english = phone.call(Caller(keys=[customer.keys, "1"]))
    assert "Für Deutsch, drücken Sie 9." in english.heard_text


# -- honest words ----------------------------------------------------------------------------


def test_a_caller_who_hides_their_number_is_promised_no_text(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    hidden = phone.call(Caller(keys=[customer.keys, "2", "2"]), from_="anonymous")
    ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert ticket is not None
    said = f"Your ticket number is H L {' '.join(str(ticket.id))}. Goodbye."
    assert said in hidden.heard_text and "text it to you" not in hidden.heard_text
    shown = phone.call(Caller(keys=[customer.keys, "2", "2"]), from_=REGISTERED)
    assert "We will text it to you." in shown.heard_text
