"""What the call does next, decided by the flow and turned into TwiML by ivr.twiml."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AskPin:
    """Prompt for the support PIN; `preface` is said first (an error or a re-prompt)."""

    preface: str = ""
    greet: bool = False


@dataclass(frozen=True)
class AskProduct:
    """Offer the account's products as a keypad menu."""

    products: tuple[str, ...]
    preface: str = ""


@dataclass(frozen=True)
class AskSeverity:
    """Ask whether service is completely down."""

    preface: str = ""


@dataclass(frozen=True)
class TakeMessage:
    """Record a message (up to two minutes, transcribed) after `preface`."""

    preface: str


@dataclass(frozen=True)
class RingOnCall:
    """Ring `number`, screened by a whisper about call `call_id`, while the caller waits."""

    number: str
    call_id: int
    timeout_seconds: int = 20


@dataclass(frozen=True)
class Transfer:
    """Say `preface`, then connect the caller to `number` (no screening)."""

    preface: str
    number: str


@dataclass(frozen=True)
class Goodbye:
    """Say `text` and hang up."""

    text: str


@dataclass(frozen=True)
class Whisper:
    """The engineer's screening prompt: press 1 to accept."""

    text: str
    call_id: int


@dataclass(frozen=True)
class Bridge:
    """An empty response: Twilio bridges the screened engineer to the caller."""


@dataclass(frozen=True)
class Silence:
    """Nothing to say (callbacks whose answer Twilio ignores)."""


Step = (
    AskPin
    | AskProduct
    | AskSeverity
    | TakeMessage
    | RingOnCall
    | Transfer
    | Goodbye
    | Whisper
    | Bridge
    | Silence
)
