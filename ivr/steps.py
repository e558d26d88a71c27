"""What the call does next, decided by the flow and turned into TwiML by ivr.twiml."""

from __future__ import annotations

from dataclasses import dataclass

from routing.ringing import Progress


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
class AskSeverityDetail:
    """Not down: ask whether work is seriously degraded (2) or it is a question (3)."""

    preface: str = ""


@dataclass(frozen=True)
class TakeMessage:
    """Record a message (up to two minutes, transcribed) after `preface`."""

    preface: str


@dataclass(frozen=True)
class HoldForEngineers:
    """Hold the caller in their own queue while engineers are rung."""

    call_id: int


@dataclass(frozen=True)
class HoldMusic:
    """One turn of the hold loop: where things stand (if `say`), then a pause."""

    say: bool
    pause_seconds: int


@dataclass(frozen=True)
class LeaveQueue:
    """Take the caller out of the hold queue (nobody accepted)."""


@dataclass(frozen=True)
class ConnectEngineer:
    """The accepting engineer takes the caller out of their hold queue."""

    call_id: int


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
    attempt_id: int


@dataclass(frozen=True)
class Restart:
    """Send the call to the Voice URL (a webhook for a call we have never greeted)."""


@dataclass(frozen=True)
class Silence:
    """Nothing to say (callbacks whose answer Twilio ignores)."""


Step = (
    AskPin
    | AskProduct
    | AskSeverity
    | AskSeverityDetail
    | TakeMessage
    | HoldForEngineers
    | HoldMusic
    | LeaveQueue
    | ConnectEngineer
    | Transfer
    | Goodbye
    | Whisper
    | Restart
    | Silence
)


@dataclass(frozen=True)
class Then:
    """A step for the caller, plus ringing work the dialer does once the step is committed."""

    step: Step
    progress: Progress


@dataclass(frozen=True)
class Unchanged:
    """Answer `step` but write nothing: the request asked for something the call can't do now."""

    step: Step
