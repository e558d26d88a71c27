"""The caller's language reaches their texts: a call to the German number gets German prompts,
a German SMS and a German email (dates in words on the number's clock), and the override key
at the greeting switches prompts and texts together."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from models import Notification, NotificationChannel, Ticket, UserRole
from routing.store import load_routing_text
from simulator import Caller, Engineer, Prompt, Simulator
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.e2e.conftest import ONCALL
from tests.e2e.numbers import ENGINEER_NAME, ENGLISH_NUMBER, GERMAN_NUMBER, TWO_LANGUAGES
from tests.factories import Customer, make_customer
from tests.notify.conftest import drain

CALLER = "+15557654321"  # the simulator's default caller ID
REGISTERED = "+14155550100"  # Ann Ops, the customer's technical contact
# "Samstag, 5. Dezember 2026, 14:05 Uhr CET": a German date in words, on Berlin's clock.
GERMAN_DATE = re.compile(
    r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), \d{1,2}\. "
    r"(Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember) "
    r"\d{4}, \d{2}:\d{2} Uhr CES?T"
)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    customer = make_customer(app, session)
    load_routing_text(session, TWO_LANGUAGES, "numbers.yaml", datetime.now(UTC))
    session.commit()
    return customer


def texts_to(phone: Simulator, number: str) -> list[str]:
    return [m["body"] for m in phone.messages if m["to"] == number]


def notification(session: Session, kind: str, channel: NotificationChannel) -> Notification:
    session.expire_all()
    rows = session.scalars(
        select(Notification).where(Notification.kind == kind, Notification.channel == channel)
    ).all()
    assert len(rows) == 1, [(r.kind, r.recipient) for r in rows]
    return rows[0]


def test_a_caller_of_the_german_number_gets_german_texts_and_email(
    app: Flask, phone: Simulator, customer: Customer, session: Session, client: FlaskClient
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    call = phone.call(Caller(keys=[customer.keys, "1"]), to=GERMAN_NUMBER)
    assert not call.failed, call.errors
    assert "Sie sind verbunden." in call.heard_text
    drain(app)
    ticket = session.scalars(select(Ticket)).one()
    [sms] = texts_to(phone, CALLER)
    assert sms.startswith(f"Sev-1 Hotline: Ihre Ticketnummer ist {ticket.number}.")
    assert "Ihr Ticket ist in Bearbeitung" in sms and "your ticket" not in sms
    email = notification(session, "call_summary", NotificationChannel.EMAIL)
    assert email.recipient == "ann@acme.test"
    assert email.subject and "mit einem Techniker verbunden" in email.subject
    body = email.body or ""
    assert body.startswith("Guten Tag Ann Ops,")
    assert "Ergebnis:     mit einem Techniker verbunden" in body
    # The account names no time zone: the German number's region (Berlin) gives the clock.
    assert GERMAN_DATE.search(body), body
    assert not ISO.search(body)
    # The engineer's text stays English (the team's language) and says what the caller speaks.
    [details] = texts_to(phone, ONCALL)
    assert details.startswith(f"Sev-1 {ticket.number}: Acme Corp. Contact Ann Ops, call back on")
    assert "Speaks German." in details
    # Solved later on the dashboard: the customer hears back in the language they called in.
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    assert sign_in(client, "maria").status_code == 302
    Browser(client).post(f"/dashboard/tickets/{ticket.id}/status", data={"status": "solved"})
    drain(app)
    solved = notification(session, "ticket_solved", NotificationChannel.EMAIL)
    assert solved.subject == f"Gelöst: {ticket.number} {ticket.subject}"
    assert "als gelöst markiert" in (solved.body or "")
    assert GERMAN_DATE.search(solved.body or "")
    solved_sms = texts_to(phone, CALLER)[-1]
    assert solved_sms.startswith(f"Sev-1 Hotline: Ticket {ticket.number} wurde am ")
    assert GERMAN_DATE.search(solved_sms), solved_sms


def test_the_override_key_switches_prompts_and_texts_together(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    # The German number, 9 at the greeting: English from then on, on the phone and in writing.
    english = phone.call(Caller(keys=["9", customer.keys, "1"]), to=GERMAN_NUMBER)
    assert "Complete outage? Press 1." in english.heard_text
    drain(app)
    first = session.scalars(select(Ticket).order_by(Ticket.id)).all()[-1]
    assert texts_to(phone, CALLER) == [
        f"Sev-1 Hotline: your ticket is {first.number}. You were connected to {ENGINEER_NAME}, "
        f"who is working on it. Quote {first.number} if you call back."
    ]
    assert not any("Speaks" in text for text in texts_to(phone, ONCALL))
    # The English number, 9 at the greeting: German prompts and a German text. (The same
    # account's second call joins the open ticket; each caller is written to in their language.)
    german = phone.call(Caller(keys=["9", customer.keys, "1"]), to=ENGLISH_NUMBER)
    assert "Totalausfall? Drücken Sie 1." in german.heard_text
    drain(app)
    last = texts_to(phone, CALLER)[-1]
    assert last.startswith(f"Sev-1 Hotline: Ihre Ticketnummer ist {first.number}.")
    session.expire_all()
    summaries = session.scalars(
        select(Notification.subject)
        .where(Notification.kind == "call_summary")
        .order_by(Notification.id)
    ).all()
    assert [bool(s and "connected to an engineer" in s) for s in summaries] == [True, False]
    assert summaries[1] and "mit einem Techniker verbunden" in summaries[1]


def german_code(phone: Simulator, to: str) -> Callable[[Prompt], str | None]:
    """A caller's keys: the code from the German text that reached `to` (waits for it)."""

    def keys(prompt: Prompt) -> str | None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for message in reversed(phone.messages):
                found = re.search(r"Ihr Einmalcode ist (\d+)\.", message["body"])
                if message["to"] == to and found:
                    return found.group(1)
            time.sleep(0.05)
        return None

    return keys


def test_a_german_caller_without_a_pin_gets_the_code_in_german(
    phone: Simulator, customer: Customer, session: Session
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    steps: list[str | Callable[[Prompt], str | None]] = ["**", german_code(phone, REGISTERED), "1"]

    def keys(prompt: Prompt) -> str | None:
        step = steps.pop(0) if steps else None
        return step(prompt) if callable(step) else step

    call = phone.call(Caller(keys=keys), from_=REGISTERED, to=GERMAN_NUMBER)
    assert not call.failed, call.errors
    assert "Wir haben einen Einmalcode an das registrierte Telefon" in call.heard_text
    assert call.connected_to == ONCALL
    [code_text] = [t for t in texts_to(phone, REGISTERED) if "Einmalcode" in t]
    assert "er gilt einmal, 10 Minuten lang" in code_text and "one-time" not in code_text


def test_a_refused_german_caller_hears_and_reads_why_in_german(
    app: Flask, phone: Simulator, session: Session
) -> None:
    load_routing_text(session, TWO_LANGUAGES, "numbers.yaml", datetime.now(UTC))
    expired = make_customer(app, session, name="Globex", entitled=False)
    call = phone.call(Caller(keys=[expired.keys]), to=GERMAN_NUMBER)
    said = re.search(
        r"Ihre Support-Lizenzen sind am (\d{1,2}\. \w+ \d{4}) abgelaufen", call.heard_text
    )
    assert said, call.heard_text
    drain(app)
    ticket = session.scalars(select(Ticket)).one()
    # Staff read the reason in English; the caller's text says it in German, with the portal.
    assert ticket.refusal_reason and ticket.refusal_reason.startswith("your support licences")
    [sms] = texts_to(phone, CALLER)
    assert (
        f"Wir konnten diesen Anruf nicht annehmen: Ihre Support-Lizenzen sind am {said[1]}" in sms
    )
    assert "Hilfe zu PIN und Lizenzen: " in sms and "/portal" in sms


def test_a_wrong_pin_on_the_german_number_is_explained_in_german(
    phone: Simulator, customer: Customer
) -> None:
    phone.engineers = {ONCALL: Engineer.accepts(after=3)}
    call = phone.call(Caller(keys=["11111111", customer.keys, "1"]), to=GERMAN_NUMBER)
    assert "Diese PIN wurde nicht erkannt." in call.heard_text
    assert "Bitte versuchen Sie es noch einmal." in call.heard_text
    assert "not recognised" not in call.heard_text
    assert call.connected_to == ONCALL


def test_a_german_severity_2_message_is_promised_in_german_and_the_engineer_told_the_language(
    app: Flask, phone: Simulator, customer: Customer
) -> None:
    call = phone.call(Caller(keys=[customer.keys, "2", "2"]), to=GERMAN_NUMBER)
    target = re.search(r"Der Support meldet sich innerhalb von (\d+ (Stunden?|Tagen?|Minuten))\.",
                       call.heard_text)  # fmt: skip
    assert target, call.heard_text
    drain(app)
    [sms] = texts_to(phone, CALLER)
    assert (
        f"Wir haben Ihre Nachricht; ein Techniker ruft Sie innerhalb von {target[1]} zurück." in sms
    )
    [task_text] = [t for t in texts_to(phone, ONCALL) if "respond to a severity-2 message" in t]
    assert "Call Ann Ops (speaks German): tel:" in task_text


def test_nobody_answering_a_german_caller_promises_the_callback_in_german_spoken_and_written(
    app: Flask, phone: Simulator, customer: Customer
) -> None:
    phone.engineers = {ONCALL: Engineer.no_answer()}
    call = phone.call(Caller(keys=[customer.keys, "1"]), to=GERMAN_NUMBER)
    assert "Wir konnten keinen Bereitschaftstechniker erreichen." in call.heard_text
    assert "Ein Techniker ruft Sie innerhalb von 30 Minuten zurück." in call.heard_text
    drain(app)
    [sms] = texts_to(phone, CALLER)
    assert "Kein Techniker konnte den Anruf annehmen; ein Techniker ruft Sie innerhalb von " in sms
    assert "30 Minuten zurück." in sms
    # The on-call engineer's callback text: English, with the caller's language.
    assert any("(speaks German)" in text for text in texts_to(phone, ONCALL))
