"""Every field a Twilio request carries, parsed defensively in one place.

Twilio's webhooks are signed, but anything that holds the account's auth token can sign
(another number, a TwiML Bin), so no field is trusted to have the shape Twilio documents:
each parser here bounds lengths, accepts ASCII only, and maps the unexpected to a safe value
instead of raising. Nothing a request carries can produce a 500.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeVar
from urllib.parse import urlsplit

CALL_SID = re.compile(r"CA[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
KEYPAD = frozenset("0123456789*#")
# Longer than any PIN or menu choice (PINs are at most 12 digits), short enough to be harmless.
MAX_DIGITS = 32
# Twilio's durations are seconds; a day is far beyond any call this service keeps.
MAX_SECONDS = 86_400
MAX_ID = 2**31 - 1
MAX_URL = 1_000
MAX_TEXT = 10_000
MAX_NUMBER = 64
E = TypeVar("E", bound=Enum)


class CallStatus(str, Enum):
    """Twilio's CallStatus values; anything else is UNKNOWN."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    ANSWERED = "answered"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """True for the statuses a call ends with."""
        return self in FINAL_CALL_STATUSES


FINAL_CALL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)


class QueueResult(str, Enum):
    """Why a caller left an <Enqueue> (Twilio's QueueResult); anything else is UNKNOWN."""

    BRIDGED = "bridged"
    BRIDGING_IN_PROCESS = "bridging-in-process"
    QUEUE_FULL = "queue-full"
    ERROR = "error"
    SYSTEM_ERROR = "system-error"
    HANGUP = "hangup"
    LEAVE = "leave"
    REDIRECTED = "redirected"
    REDIRECTED_FROM_BRIDGED = "redirected-from-bridged"
    UNKNOWN = "unknown"


class TranscriptionStatus(str, Enum):
    """Twilio's TranscriptionStatus values; anything else is UNKNOWN."""

    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"


def _enum_value(kind: type[E], raw: str | None, unknown: E) -> E:
    try:
        return kind((raw or "").strip().lower()[:32])
    except ValueError:
        return unknown


def call_status(raw: str | None) -> CallStatus:
    """A CallStatus; unknown or malformed values are CallStatus.UNKNOWN (never final)."""
    return _enum_value(CallStatus, raw, CallStatus.UNKNOWN)


def queue_result(raw: str | None) -> QueueResult:
    """A QueueResult; unknown or malformed values are QueueResult.UNKNOWN."""
    return _enum_value(QueueResult, raw, QueueResult.UNKNOWN)


def transcription_status(raw: str | None) -> TranscriptionStatus:
    """A TranscriptionStatus; unknown or malformed values are TranscriptionStatus.UNKNOWN."""
    return _enum_value(TranscriptionStatus, raw, TranscriptionStatus.UNKNOWN)


def digits(raw: str | None) -> str | None:
    """Keypad input: '' for none, the keys when they are 0-9 * # (bounded), else None."""
    keys = (raw or "").strip()
    if len(keys) > MAX_DIGITS or not keys.isascii() or not set(keys) <= KEYPAD:
        return None
    return keys


def seconds(raw: str | None) -> int:
    """A duration in whole seconds (QueueTime, CallDuration...): ASCII digits, clamped; else 0."""
    text = (raw or "").strip()
    # Bounded before int(): int() of 10,000 digits is slow and raises past Python's limit.
    if not text or len(text) > 9 or not (text.isascii() and text.isdigit()):
        return 0
    return min(int(text), MAX_SECONDS)


def positive_id(raw: str | None) -> int | None:
    """A database id from a query parameter we put in a URL, or None."""
    text = (raw or "").strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def counter(raw: str | None) -> int | None:
    """A non-negative counter we put in a URL (the call's turn), or None."""
    text = (raw or "").strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def call_sid(raw: str | None) -> str:
    """A CallSid of Twilio's shape ('CA' and 32 hex digits), else ''."""
    text = raw or ""
    return text if CALL_SID.fullmatch(text) else ""


def is_account_sid(raw: str | None) -> bool:
    """True for an AccountSid of Twilio's shape."""
    return bool(ACCOUNT_SID.fullmatch(raw or ""))


def phone_number(raw: str | None) -> str:
    """A caller ID as Twilio sends it (E.164, 'anonymous', 'client:x'...), bounded; else ''."""
    text = (raw or "").strip()
    if len(text) > MAX_NUMBER or not text.isascii() or not text.isprintable() or " " in text:
        return ""
    return text


def recording_url(raw: str | None, twilio_api_base: str | None = None) -> str:
    """A recording's URL: https, or under our Twilio API base (a local test server); else ''."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_URL or not text.isascii() or not text.isprintable():
        return ""
    if " " in text:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme == "https" and parts.netloc:
        return text
    if twilio_api_base and text.startswith(twilio_api_base.rstrip("/") + "/"):
        return text
    return ""


def free_text(raw: str | None, limit: int = MAX_TEXT) -> str:
    """Text such as a transcription: bounded, without control characters but newlines."""
    text = (raw or "")[:limit]
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
