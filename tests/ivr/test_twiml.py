"""TwiML builders, checked by structure: verbs in order, actions, limits, prompts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ivr import prompts, twiml
from ivr.languages import GERMAN
from ivr.steps import (
    AskPin,
    AskProduct,
    AskSeverity,
    ConnectEngineer,
    Goodbye,
    HoldForEngineers,
    HoldMusic,
    LeaveQueue,
    TakeMessage,
    Whisper,
)


def url(endpoint: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"https://h.test/{endpoint}" + (f"?{query}" if query else "")


def parse(step: object, pin_length: int = 8) -> ET.Element:
    return ET.fromstring(twiml.render(step, url, pin_length))  # type: ignore[arg-type]


def test_pin_prompt_takes_a_full_pin_without_waiting_for_hash() -> None:
    root = parse(AskPin(greet=True), pin_length=8)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "8"
    assert gather.get("action") == "https://h.test/ivr.pin"
    assert gather.get("actionOnEmptyResult") == "true"
    hint = prompts.ENGLISH.NO_PIN_HINT
    assert gather.findtext("Say") == f"{prompts.GREETING} {prompts.ENTER_PIN} {hint}"


def test_product_menu_lists_each_product_with_its_key() -> None:
    gather = parse(AskProduct(("Database", "Cloud"))).find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.findtext("Say") == "For Database, press 1. For Cloud, press 2."


def test_severity_question_is_one_short_sentence_pair() -> None:
    gather = parse(AskSeverity()).find("Gather")
    assert gather is not None and gather.get("action") == "https://h.test/ivr.severity"
    assert gather.findtext("Say") == "Complete outage? Press 1. Otherwise, press 2."


def test_message_is_recorded_for_two_minutes_with_transcription() -> None:
    root = parse(TakeMessage("Leave a message."))
    assert [child.tag for child in root] == ["Say", "Record", "Redirect"]
    record = root.find("Record")
    assert record is not None
    assert record.get("maxLength") == "120"
    assert record.get("transcribe") == "true"
    assert record.get("transcribeCallback") == "https://h.test/ivr.transcription"
    assert root.findtext("Redirect") == "https://h.test/ivr.recorded"


def test_caller_holds_in_their_own_queue_while_engineers_ring() -> None:
    root = parse(HoldForEngineers(call_id=7))
    assert [child.tag for child in root] == ["Say", "Enqueue"]
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "hotline-call-7"
    assert enqueue.get("waitUrl") == "https://h.test/ivr.hold?call=7"
    assert enqueue.get("action") == "https://h.test/ivr.queue_done?call=7"


def test_hold_turn_says_where_things_stand_then_pauses() -> None:
    root = parse(HoldMusic(say=prompts.STILL_TRYING, pause_seconds=15))
    assert root.findtext("Say") == prompts.STILL_TRYING
    pause = root.find("Pause")
    assert pause is not None and pause.get("length") == "15"


def test_accepting_engineer_takes_the_caller_from_the_queue() -> None:
    root = parse(ConnectEngineer(call_id=7))
    assert root.findtext("Dial/Queue") == "hotline-call-7"
    # Not a word more for the engineer; the caller hears "You're through" as they join.
    assert [child.tag for child in root] == ["Dial"]
    queue = root.find("Dial/Queue")
    assert queue is not None and queue.get("url") == "https://h.test/ivr.through?lang="


def test_a_hold_turn_offering_a_message_listens_for_1_while_it_waits() -> None:
    root = parse(HoldMusic(say="Your ticket number is H L 7.", pause_seconds=12, call_id=7,
                           offer_message=True))  # fmt: skip
    gather = root.find("Gather")
    assert gather is not None and gather.get("action") == "https://h.test/ivr.hold_key?call=7"
    assert (gather.get("numDigits"), gather.get("timeout")) == ("1", "12")
    assert gather.findtext("Say") == "Your ticket number is H L 7."


def test_every_caller_prompt_is_spoken_in_the_catalogues_language() -> None:
    root = ET.fromstring(twiml.render(AskSeverity(), url, 8, GERMAN))  # type: ignore[arg-type]
    say = root.find("Gather/Say")
    assert say is not None and say.get("language") == "de-DE"
    assert say.text == GERMAN.ASK_SEVERITY


def test_leaving_the_queue_is_a_bare_leave() -> None:
    assert [child.tag for child in parse(LeaveQueue())] == ["Leave"]


def test_whisper_gathers_one_key_then_hangs_up() -> None:
    root = parse(Whisper("Severity 1 call.", attempt_id=7))
    assert [child.tag for child in root] == ["Gather", "Hangup"]
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == "https://h.test/ivr.engineer_answer?attempt=7"


def test_goodbye_says_and_hangs_up() -> None:
    root = parse(Goodbye("Bye."))
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_fallback_dials_the_emergency_number_for_a_caller_who_may_reach_a_person() -> None:
    root = ET.fromstring(twiml.fallback("+15005550999", False, url, connect=True))
    assert root.findtext("Dial") == "+15005550999"


def test_fallback_takes_a_message_from_a_caller_who_may_not_reach_a_person() -> None:
    root = ET.fromstring(twiml.fallback("+15005550999", False, url, connect=False))
    assert root.find("Dial") is None
    record = root.find("Record")
    assert record is not None and record.get("action") == "https://h.test/ivr.fallback?recorded=1"


def test_fallback_records_a_message_when_no_emergency_number() -> None:
    root = ET.fromstring(twiml.fallback(None, False, url, connect=True))
    record = root.find("Record")
    assert record is not None and record.get("action") == "https://h.test/ivr.fallback?recorded=1"


def test_ticket_numbers_are_spoken_digit_by_digit() -> None:
    assert prompts.spoken_ticket(123) == "H L 1 2 3"


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


@pytest.mark.parametrize("p", [prompts.ENGLISH, GERMAN], ids=["en", "de"])
def test_no_prompt_says_a_sentence_twice_in_one_turn(p: prompts.Prompts) -> None:
    steps = [
        AskPin(greet=True, switch_to=GERMAN.SWITCH_TO),
        AskPin(p.NO_INPUT_PIN, hints=True),
        AskPin(f"That PIN was not recognised. {p.TRY_AGAIN}", hints=True),
        AskPin(f"That PIN was not recognised. {p.SEVEN_FOR_P} {p.TRY_AGAIN}"),
        AskSeverity(p.NO_INPUT_MENU),
        AskSeverity(p.INVALID_CHOICE),
        HoldForEngineers(7, f"{p.NO_INPUT_MENU} {p.SEVERITY_ASSUMED}"),
    ]
    for step in steps:
        root = ET.fromstring(twiml.render(step, url, 8, p))  # type: ignore[arg-type]
        said = " ".join(say.text or "" for say in root.iter("Say"))
        sentences = _sentences(said)
        assert len(sentences) == len(set(sentences)), said
