"""Texts in the customer's language: every language the phone speaks writes every text a
customer gets, with dates and durations in its own words; staff texts stay English."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.languages import CATALOGUES
from notify import languages
from notify.render import has_template, render

# Everything a caller or customer is sent about a call or its ticket.
CUSTOMER_KINDS = (
    "call_ended.sms.txt",
    "call_summary.email.txt",
    "call_summary.subject.txt",
    "one_time_code.sms.txt",
    "ticket_pending.email.txt",
    "ticket_pending.sms.txt",
    "ticket_pending.subject.txt",
    "ticket_solved.email.txt",
    "ticket_solved.sms.txt",
    "ticket_solved.subject.txt",
)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def test_the_phone_and_the_texts_speak_the_same_languages() -> None:
    assert set(CATALOGUES) == set(languages.LANGUAGES)


@pytest.mark.parametrize("language", [k for k in languages.LANGUAGES if k != languages.ENGLISH])
@pytest.mark.parametrize("name", CUSTOMER_KINDS)
def test_every_text_to_a_customer_exists_in_every_language(language: str, name: str) -> None:
    assert has_template(name, language), f"notify/templates/{language}/{name} is missing"


@pytest.mark.parametrize(
    ("moment", "where", "language", "words"),
    [
        (datetime(2026, 12, 5, 13, 5, tzinfo=UTC), BERLIN, "de-DE",
         "Samstag, 5. Dezember 2026, 14:05 Uhr CET"),
        # Summer time in Berlin; an Austrian tag takes the German words.
        (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), BERLIN, "de-AT",
         "Donnerstag, 2. Juli 2026, 00:30 Uhr CEST"),
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), BERLIN, "de",
         "Montag, 2. März 2026, 04:00 Uhr CET"),
        (datetime(2026, 12, 5, 13, 5, tzinfo=UTC), NEW_YORK, "en-GB",
         "Saturday 5 December 2026 at 8:05 AM EST"),
        # An unknown language writes English.
        (datetime(2026, 12, 5, 13, 5, tzinfo=UTC), NEW_YORK, "fr-FR",
         "Saturday 5 December 2026 at 8:05 AM EST"),
        (datetime(2026, 12, 5, 13, 5, tzinfo=UTC), NEW_YORK, None,
         "Saturday 5 December 2026 at 8:05 AM EST"),
    ],
)  # fmt: skip
def test_dates_are_words_on_the_callers_clock_in_their_language(
    moment: datetime, where: ZoneInfo, language: str | None, words: str
) -> None:
    assert languages.human_datetime(moment, where, language) == words


@pytest.mark.parametrize(
    ("minutes", "en", "de"),
    [(30, "30 minutes", "30 Minuten"), (60, "1 hour", "1 Stunde"), (240, "4 hours", "4 Stunden"),
     (1440, "1 day", "1 Tag"), (4320, "3 days", "3 Tagen")],
)  # fmt: skip
def test_response_targets_in_words(minutes: int, en: str, de: str) -> None:
    assert languages.duration_words(minutes, "en-US") == en
    assert languages.duration_words(minutes, "de-DE") == de


def test_a_german_call_ended_text_says_the_promise_in_german() -> None:
    payload = {
        "language": "de-DE",
        "ticket": "HL-42",
        "outcome": "missed",
        "callback_task": True,
        "respond_within": languages.duration_words(30, "de-DE"),
    }
    body = render("call_ended", "sms", payload).body
    assert body == (
        "Sev-1 Hotline: Ihre Ticketnummer ist HL-42. Kein Techniker konnte den Anruf annehmen; "
        "ein Techniker ruft Sie innerhalb von 30 Minuten zurück. "
        "Nennen Sie HL-42, wenn Sie wieder anrufen."
    )
    # No task, no promise: in German as in English.
    payload["callback_task"] = False
    payload["outcome"] = "message"
    assert "zurück" not in render("call_ended", "sms", payload).body


def test_staff_texts_stay_english_whatever_the_callers_language() -> None:
    payload = {"language": "de-DE", "ticket": "HL-42", "account": "Acme Corp"}
    body = render("nobody_accepted", "sms", payload).body
    assert body.startswith("Sev-1 hotline ALERT: nobody accepted severity-1 call HL-42")
