"""Prompt lengths: nothing on the severity-1 path takes over 8 s, and the README's table of
every prompt and text is the one the catalogues generate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr import twiml
from ivr.languages import CATALOGUES, GERMAN
from ivr.lengths import markdown, prompt_rows, severity1_rows, speech_seconds, text_rows
from ivr.prompts import ENGLISH
from ivr.steps import AskPin, AskSeverity, HoldForEngineers

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- prompt-table:begin -->", "<!-- prompt-table:end -->"


def url(endpoint: str, **params: object) -> str:
    return f"https://h.test/{endpoint}"


@pytest.mark.parametrize("row", severity1_rows(), ids=lambda row: f"{row.where}: {row.name}")
def test_nothing_a_severity1_caller_or_engineer_hears_takes_over_8_seconds(row: object) -> None:
    assert row.seconds <= 8, row  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_the_rendered_severity1_prompts_are_as_short_as_the_table_says(language: str) -> None:
    p = CATALOGUES[language]
    offer = GERMAN.SWITCH_TO if p is ENGLISH else ENGLISH.SWITCH_TO
    for step in (AskPin(greet=True, switch_to=offer), AskSeverity(), HoldForEngineers(7)):
        root = ET.fromstring(twiml.render(step, url, 8, p))
        said = " ".join(say.text or "" for say in root.iter("Say"))
        assert said and speech_seconds(said) <= 8, said


def test_every_catalogue_fills_every_prompt() -> None:
    for row in prompt_rows():
        assert row.text.strip(), row


def test_every_text_template_is_in_the_table() -> None:
    names = {row.name for row in text_rows()}
    assert {"call_ended.sms", "texted_code_used.email", "nobody_accepted.email"} <= names


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "README lost its prompt-table markers"
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown(), "README's prompt table is stale: python -m ivr.lengths"
