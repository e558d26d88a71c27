"""Caller SMS only where owed: PIN accepted or a registered number, allowed countries, caps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import counters
from kernel.config import ConfigError, Settings, load_settings, settings_of
from models import Call, CallEvent, NotificationChannel, TicketOutcome, utcnow
from notify import triggers
from simulator import Simulator
from tests.notify.conftest import drain, make_call, notifications

HOUR = timedelta(hours=1)


@pytest.fixture
def settings(app: Flask) -> Settings:
    return settings_of(app)


def caller_sms(session: Session) -> list[str]:
    return [
        n.recipient
        for n in notifications(session)
        if n.kind == "call_ended" and n.channel is NotificationChannel.SMS
    ]


def withheld_reasons(session: Session, call: Call) -> list[str]:
    events = session.scalars(
        select(CallEvent).where(CallEvent.call_id == call.id, CallEvent.kind == "sms_withheld")
    ).all()
    return [e.detail["reason"] for e in events]


def without_pin(session: Session, caller: str) -> Call:
    """An ended call whose PIN was never accepted."""
    call = make_call(session, TicketOutcome.MESSAGE, caller=caller, sid_suffix=caller)
    call.ticket.account = None
    call.account_id = None
    call.pin_accepted_at = None
    session.flush()
    return call


def test_a_caller_whose_pin_was_not_accepted_gets_no_sms_and_the_ticket_says_why(
    session: Session, settings: Settings
) -> None:
    call = without_pin(session, "+14155550123")
    assert triggers.call_ended(session, call, utcnow(), settings) == 0
    session.commit()
    assert caller_sms(session) == []
    assert withheld_reasons(session, call) == ["pin_not_accepted"]
    # A repeated status callback records it once.
    triggers.call_ended(session, call, utcnow(), settings)
    session.commit()
    assert withheld_reasons(session, call) == ["pin_not_accepted"]


def test_a_registered_contact_number_is_texted_without_a_pin(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    make_call(session, TicketOutcome.CONNECTED)  # registers +15557770001 on Acme Corp
    session.commit()
    call = without_pin(session, "+1 555 777 0001")
    assert triggers.call_ended(session, call, utcnow()) == 1
    session.commit()
    drain(notify_app)
    # Sent in E.164 whatever spelling the caller ID came in.
    assert [m["to"] for m in sim.messages] == ["+15557770001"]
    assert call.ticket.number in sim.messages[0]["body"]


@pytest.mark.parametrize(
    ("caller", "countries", "texted"),
    [
        ("+14155550123", ("US",), True),
        ("+33612345678", ("US",), False),
        # Same +1 calling code, another country: a classic SMS-pumping destination.
        ("+18765550100", ("US",), False),
        ("+33612345678", ("US", "FR"), True),
    ],
    ids=["home-country", "france-not-allowed", "jamaica-not-allowed", "france-allowed"],
)
def test_only_allowed_countries_are_texted(
    session: Session, settings: Settings, caller: str, countries: tuple[str, ...], texted: bool
) -> None:
    call = make_call(session, TicketOutcome.CONNECTED, caller=caller)
    triggers.call_ended(session, call, utcnow(), replace(settings, sms_countries=countries))
    session.commit()
    assert caller_sms(session) == ([caller] if texted else [])
    assert withheld_reasons(session, call) == ([] if texted else ["country_not_allowed"])


def test_one_number_gets_at_most_the_hourly_cap(session: Session, settings: Settings) -> None:
    capped = replace(settings, sms_per_number_hourly=2)
    calls = [make_call(session, TicketOutcome.MESSAGE, sid_suffix=str(n)) for n in range(3)]
    other = make_call(session, TicketOutcome.MESSAGE, caller="+14155550123")
    now = utcnow()
    for call in [*calls, other]:
        triggers.call_ended(session, call, now, capped)
    session.commit()
    assert caller_sms(session) == ["+15557770001", "+15557770001", "+14155550123"]
    assert withheld_reasons(session, calls[2]) == ["per_number_cap"]
    # The next hour the number may be texted again.
    later = make_call(session, TicketOutcome.MESSAGE, sid_suffix="later")
    triggers.call_ended(session, later, now + HOUR, capped)
    assert caller_sms(session)[-1] == "+15557770001"


def test_all_callers_together_get_at_most_the_global_cap(
    session: Session, settings: Settings
) -> None:
    capped = replace(settings, sms_global_hourly=3)
    now = utcnow()
    calls = [make_call(session, TicketOutcome.MESSAGE, caller=f"+1415555010{n}") for n in range(4)]
    for call in calls:
        triggers.call_ended(session, call, now, capped)
    session.commit()
    assert len(caller_sms(session)) == 3
    assert withheld_reasons(session, calls[3]) == ["global_cap"]
    # The refused number's own allowance was not used up by the refusal.
    assert counters.current(session, "sms:number:+14155550103", now, HOUR) == 0


def test_a_repeated_status_callback_does_not_count_twice(
    session: Session, settings: Settings
) -> None:
    capped = replace(settings, sms_per_number_hourly=1)
    call = make_call(session, TicketOutcome.MESSAGE)
    now = utcnow()
    for _ in range(3):
        triggers.call_ended(session, call, now, capped)
        session.commit()
    assert caller_sms(session) == ["+15557770001"]
    assert withheld_reasons(session, call) == []


def test_a_withheld_number_is_recorded(session: Session, settings: Settings) -> None:
    call = make_call(session, TicketOutcome.MESSAGE, caller="anonymous")
    assert triggers.call_ended(session, call, utcnow(), settings) == 1  # the contact's email
    assert withheld_reasons(session, call) == ["withheld_number"]


def test_engineer_and_manager_messages_ignore_the_caller_caps(
    session: Session, settings: Settings
) -> None:
    closed = replace(settings, sms_global_hourly=0)
    call = make_call(session, TicketOutcome.CONNECTED, engineer=("+14155550001", "Erin"))
    now = utcnow()
    triggers.call_ended(session, call, now, closed)
    assert triggers.engineer_accepted(session, call, "+14155550001", "Erin", now, closed)
    assert triggers.nobody_accepted(session, call, now, ["+14155550002"], closed) == 3
    session.commit()
    recipients = {n.recipient for n in notifications(session)}
    assert {"+14155550001", "+14155550002", "role:managers"} <= recipients
    assert caller_sms(session) == []
    assert withheld_reasons(session, call) == ["global_cap"]


# --- settings ------------------------------------------------------------------------------------


def base_env(**extra: str) -> dict[str, str]:
    return {"HOTLINE_ENV": "test", "SECRET_KEY": "s", "PIN_PEPPER": "p", **extra}


def test_sms_countries_default_to_the_hotline_numbers_country(tmp_path: object) -> None:
    env = base_env(HOTLINE_DATA_DIR=str(tmp_path))
    assert load_settings(env).sms_countries == ("US",)
    uk = load_settings({**env, "HOTLINE_NUMBER": "+442079460000"})
    assert uk.sms_countries == ("GB",) and uk.home_region == "GB"
    assert load_settings({**env, "SMS_COUNTRIES": "us, ca"}).sms_countries == ("US", "CA")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SMS_COUNTRIES", "US,XX", "unknown: XX"),
        ("SMS_PER_NUMBER_HOURLY", "lots", "SMS_PER_NUMBER_HOURLY must be a whole number"),
        ("PIN_LOCKOUT_MINUTES", "1,five", "PIN_LOCKOUT_MINUTES must be minutes"),
    ],
)
def test_bad_limit_settings_are_refused_by_name(
    tmp_path: object, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(base_env(HOTLINE_DATA_DIR=str(tmp_path), **{name: value}))


def test_lockout_minutes_are_read_in_order(tmp_path: object) -> None:
    env = base_env(HOTLINE_DATA_DIR=str(tmp_path), PIN_LOCKOUT_MINUTES="2, 10,30")
    assert load_settings(env).pin_lockout_minutes == (2, 10, 30)
