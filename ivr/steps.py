"""What the call does next, decided by the flow and turned into TwiML by ivr.twiml."""

from __future__ import annotations

from dataclasses import dataclass, field

from routing.ringing import Progress


@dataclass(frozen=True)
class AskPin:
    """Prompt for the support PIN; `preface` is said first (an error or a re-prompt).

    `greet` adds the greeting and the star-star hint (and `switch_to`, a language the caller
    may choose with 9); `hints` adds how to type a "p" PIN and the star-star hint.
    """

    preface: str = ""
    greet: bool = False
    hints: bool = False
    switch_to: str = ""


@dataclass(frozen=True)
class AskRegisteredNumber:
    """No PIN: ask for the company's registered phone number."""

    preface: str = ""


@dataclass(frozen=True)
class AskCode:
    """No PIN: ask for the one-time code just texted to a registered contact."""

    preface: str


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
    """Hold the caller in their own queue while engineers are rung (after `preface`)."""

    call_id: int
    preface: str = ""
    # Only the first time: a caller put back in the queue needs no "connecting" again.
    announce: bool = True


@dataclass(frozen=True)
class HoldMusic:
    """One turn of the hold loop: `say` (where things stand, if anything), then a pause in
    which 1 takes the caller out of the queue to leave a message (when `offer_message`)."""

    say: str
    pause_seconds: int
    call_id: int | None = None
    offer_message: bool = False


@dataclass(frozen=True)
class LeaveQueue:
    """Take the caller out of the hold queue (nobody accepted)."""


@dataclass(frozen=True)
class ConnectEngineer:
    """The accepting engineer takes the caller out of their hold queue (the caller hears
    "You're through" in their `language` as the engineer joins)."""

    call_id: int
    language: str | None = None


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
    | AskRegisteredNumber
    | AskCode
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
class Text:
    """An SMS to send once the step is committed, never stored (it carries a one-time code)."""

    to: str
    body: str = field(repr=False)


@dataclass(frozen=True)
class Then:
    """A step for the caller, plus work the dialer does once the step is committed: ringing,
    and texts that must not sit in the outbox."""

    step: Step
    progress: Progress
    texts: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Unchanged:
    """Answer `step` but write nothing: the request asked for something the call can't do now."""

    step: Step
