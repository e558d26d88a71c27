"""Degraded mode speaks the language of the number called: the routing configuration this
process already holds says it, so no query is needed while the database is down."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from routing.store import load_routing_text
from tests.factories import SignedTwilio
from tests.ivr.conftest import Customer
from tests.ivr.test_outages import LAST_KNOWN, database_down, twiml

GERMAN_NUMBER = "+4930555000"
ROUTING = """
engineers:
  ann: {name: Ann On-Call, phone: "+15005550101", timezone: Europe/Berlin}
schedules: {}
policies:
  emea:
    levels:
      - targets: [{engineer: ann}]
default_policy: emea
numbers:
  "+4930555000": {language: de-DE, offer: en-GB, timezone: Europe/Berlin}
"""


def said(root: object) -> list[tuple[str, str | None]]:
    return [(say.text or "", say.get("language")) for say in root.iter("Say")]  # type: ignore[attr-defined]


def test_an_unknown_caller_of_the_german_number_hears_degraded_mode_in_german(
    app: Flask, client: object, session: Session, tmp_path: Path
) -> None:
    load_routing_text(session, ROUTING, "numbers.yaml", datetime.now(UTC))
    session.commit()
    # A call while the database is up: this process reads (and keeps) the configuration.
    first = SignedTwilio(client)  # type: ignore[arg-type]
    assert "Geben Sie Ihre PIN ein." in first.post("/ivr/voice", To=GERMAN_NUMBER).data.decode()
    caller = SignedTwilio(client)  # type: ignore[arg-type]
    english = SignedTwilio(client)  # type: ignore[arg-type]
    with database_down(app, tmp_path):
        root = twiml(caller.post("/ivr/voice", To=GERMAN_NUMBER))
        [(question, language)] = said(root)
        assert question.startswith("Technische Störung: wir können Ihre") and language == "de-DE"
        root = twiml(caller.post("/ivr/degraded/choice", exact=True, To=GERMAN_NUMBER, Digits="2"))
        assert [text for text, _ in said(root)] == [
            "Wir haben technische Probleme. Bitte nennen Sie nach dem Ton Ihren Namen, Ihre "
            "Firma und das Problem. Wir rufen Sie zurück.",
            "Vielen Dank. Ihre Nachricht wurde aufgezeichnet. Auf Wiederhören.",
        ]
        # A number the configuration does not list: English, as ever.
        root = twiml(english.post("/ivr/voice"))
        assert said(root)[0][0].startswith("Technical trouble: we cannot check your support PIN")


def test_a_german_severity_1_caller_is_put_through_in_german_while_the_database_is_down(
    app: Flask, twilio: SignedTwilio, customer: Customer, session: Session, tmp_path: Path
) -> None:
    load_routing_text(session, ROUTING, "numbers.yaml", datetime.now(UTC))
    session.commit()
    twilio.post("/ivr/voice", To=GERMAN_NUMBER)
    twilio.post("/ivr/pin", To=GERMAN_NUMBER, Digits=customer.keys)
    app.extensions["last_known"].remember(list(LAST_KNOWN))
    with database_down(app, tmp_path):
        root = twiml(twilio.post("/ivr/severity", To=GERMAN_NUMBER, Digits="1"))
        [(text, language)] = said(root)
        assert "daher hat Ihr Anruf noch keine Ticketnummer" in text and language == "de-DE"
        assert root.findtext("Dial/Number") == LAST_KNOWN[0]
