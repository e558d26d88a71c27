"""Message texts: Jinja templates under notify/templates, one per kind and channel, and per
language under notify/templates/<language>/ for what goes to a customer (see notify.languages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, Template, TemplateNotFound

from notify.languages import ENGLISH, primary


@dataclass(frozen=True)
class Message:
    """A rendered message; subject is empty for SMS."""

    subject: str
    body: str


@cache
def _environment() -> Environment:
    # Plain text, not HTML: nothing to escape, and whitespace control keeps SMS short.
    return Environment(  # noqa: S701 - plain-text templates, never served as HTML
        loader=PackageLoader("notify", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates ship with the package: compiled once, never re-checked on disk per message.
        auto_reload=False,
    )


def render(kind: str, channel: str, payload: dict[str, Any]) -> Message:
    """Render `kind` for `channel` ('sms' or 'email') with `payload` as the context, in the
    payload's `language` where that language has the template (else English)."""
    language = primary(payload.get("language"))
    body = _template(f"{kind}.{channel}.txt", language).render(**payload).strip()
    subject = ""
    if channel == "email":
        try:
            subject = _template(f"{kind}.subject.txt", language).render(**payload).strip()
        except TemplateNotFound:
            subject = kind.replace("_", " ").capitalize()
    return Message(subject=" ".join(subject.split()), body=body)


def has_template(name: str, language: str) -> bool:
    """True when `language` has its own template `name` (e.g. 'call_ended.sms.txt')."""
    try:
        _environment().get_template(f"{language}/{name}")
    except TemplateNotFound:
        return False
    return True


def _template(name: str, language: str) -> Template:
    env = _environment()
    if language != ENGLISH:
        try:
            return env.get_template(f"{language}/{name}")
        except TemplateNotFound:
            pass  # a staff-only kind: English, the team's language
    return env.get_template(name)
