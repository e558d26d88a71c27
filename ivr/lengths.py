"""How long each prompt and text takes to say or read, at 150 words a minute, for the README.

Run `python -m ivr.lengths` to print the table the README carries; a test checks the README
still matches it, so the table cannot drift from the catalogues.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib import resources

from ivr import prompts
from ivr.languages import CATALOGUES
from ivr.prompts import ENGLISH, Prompts

WORDS_PER_MINUTE = 150
# What a severity-1 caller (and the engineer they reach) hears on the way to connected, as
# the call flow puts the catalogue's sentences together; each must stay short.
SEVERITY1_PATH = {
    # With the longest offer of another language a number can make.
    "greeting and PIN prompt": ("GREETING", "ENTER_PIN", "NO_PIN_HINT", "OTHER:SWITCH_TO"),
    "severity question": ("ASK_SEVERITY",),
    "severity taken on silence": ("NO_INPUT_MENU", "SEVERITY_ASSUMED", "CONNECTING"),
    "hold, first words": ("CONNECTING",),
    "engineer joins": ("THROUGH",),
    "hold turn: time and engineers": ("HOLD_WAITED",),
    "hold turn: ticket and message": ("HOLD_TICKET", "HOLD_OFFER_MESSAGE"),
    "hold turn: still trying": ("STILL_TRYING", "HOLD_OFFER_MESSAGE"),
    # Degraded mode (database down): the question, and the words before the first ring.
    "degraded: question": ("DEGRADED_ASK_SEVERITY",),
    "degraded: put through": ("DEGRADED_CONNECTING",),
}
# Sample values for the placeholders, as long as they get in practice.
SAMPLES = {
    "ticket": "H L 1 2 3 4",
    "company": "Acme Corp",
    "waited": "2 minutes",
    "engineers": "3 engineers",
    "minutes": "30",
    "last4": "0 1 0 0",
    "portal": "hotline.example.com/portal",
    "target": "4 hours",
    "product": "Database",
    "key": "1",
    "reason": "the account has no current support licence",
    "count": "3",
}
ENGINEER_TEXTS = ("WHISPER", "WHISPER_PASSED", "WHISPER_NO_KEY", "CALLER_GONE", "WHISPER_TAKEN")


@dataclass(frozen=True)
class Row:
    """One prompt or text: where it is said, its name, its words and its length."""

    where: str
    name: str
    text: str

    @property
    def seconds(self) -> float:
        """Seconds to say (or read) it at WORDS_PER_MINUTE."""
        return speech_seconds(self.text)


def speech_seconds(text: str) -> float:
    """Seconds to say `text` at 150 words a minute (the rate the phone simulator uses too)."""
    return len(text.split()) * 60 / WORDS_PER_MINUTE


def filled(text: str, catalogue: Prompts = ENGLISH) -> str:
    """`text` with its placeholders filled with typical values, in the catalogue's words."""
    samples = SAMPLES | {
        "waited": catalogue.MINUTES.format(count=2),
        "engineers": catalogue.ENGINEERS.format(count=3),
    }
    return re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), m.group(1)), text)


def severity1_rows() -> list[Row]:
    """What a severity-1 call says, as the caller hears it, in every language."""
    rows = []
    for catalogue in CATALOGUES.values():
        others = [other for other in CATALOGUES.values() if other is not catalogue]
        for step, names in SEVERITY1_PATH.items():
            parts = []
            for name in names:
                if name.startswith("OTHER:"):
                    offers = [getattr(other, name.removeprefix("OTHER:")) for other in others]
                    parts.append(max(offers, key=lambda text: len(text.split()), default=""))
                else:
                    parts.append(filled(getattr(catalogue, name), catalogue))
            rows.append(Row(f"caller, {catalogue.NAME}", step, " ".join(parts)))
    whisper = filled(prompts.WHISPER)
    rows.append(Row("engineer", "whisper", whisper))
    rows.append(Row("engineer", "degraded: whisper", prompts.DEGRADED_WHISPER))
    return rows


def prompt_rows() -> list[Row]:
    """Every caller prompt in every catalogue, and what engineers hear."""
    rows = []
    for catalogue in CATALOGUES.values():
        for spec in dataclasses.fields(Prompts):
            if spec.name == "language":
                continue
            text = getattr(catalogue, spec.name)
            rows.append(Row(f"caller, {catalogue.NAME}", spec.name, filled(text, catalogue)))
    for name in ENGINEER_TEXTS:
        rows.append(Row("engineer", name, filled(getattr(prompts, name))))
    return rows


def words_of(line: str) -> str:
    """A template line as read: placeholders as X, inline alternatives as 'A / B' (both
    counted, so the length errs long), tags and comments gone."""
    line = re.sub(r"\{#.*?#\}", "", line)
    line = re.sub(r"\{\{.*?\}\}", "X", line)
    line = re.sub(r"\{%-?\s*(else|elif\b.*?)\s*-?%\}", " / ", line)
    line = re.sub(r"\{%.*?%\}", "", line)
    return " ".join(line.split()).strip(" /")


def text_rows() -> list[Row]:
    """Every SMS and email template in every language, each branch (line of words) on its own
    row; English rows also cover what staff read (their texts stay English)."""
    rows = []
    folder = resources.files("notify") / "templates"
    for key, catalogue in CATALOGUES.items():
        where = folder if key == "en" else folder / key
        suffix = "" if key == "en" else f", {catalogue.NAME}"
        for entry in sorted(where.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".txt"):
                continue
            lines = [words_of(line) for line in entry.read_text(encoding="utf-8").splitlines()]
            lines = [line for line in lines if line]
            name = entry.name.removesuffix(".txt")
            if name.endswith(".email"):
                rows.append(Row(f"email{suffix}", name, " ".join(lines)))
                continue
            channel = "sms" if name.endswith(".sms") else "subject"
            for line in lines:
                rows.append(Row(f"{channel}{suffix}", name, line))
    return rows


def markdown() -> str:
    """The README's table of prompts and texts with their lengths."""
    out = [
        "| where | prompt or text | words as said (placeholders filled) | seconds |",
        "|---|---|---|---|",
    ]
    for row in severity1_rows():
        text = row.text.replace("|", "\\|")
        name = f"**severity-1 path: {row.name}**"
        out.append(f"| {row.where} | {name} | {text} | {row.seconds:.1f} |")
    for row in prompt_rows() + text_rows():
        text = row.text.replace("|", "\\|")
        out.append(f"| {row.where} | {row.name} | {text} | {row.seconds:.1f} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
