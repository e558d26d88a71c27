"""Message texts: Jinja templates under notify/templates, one per kind and channel."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, TemplateNotFound


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
    """Render `kind` for `channel` ('sms' or 'email') with `payload` as the context."""
    env = _environment()
    body = env.get_template(f"{kind}.{channel}.txt").render(**payload).strip()
    subject = ""
    if channel == "email":
        try:
            subject = env.get_template(f"{kind}.subject.txt").render(**payload).strip()
        except TemplateNotFound:
            subject = kind.replace("_", " ").capitalize()
    return Message(subject=" ".join(subject.split()), body=body)
