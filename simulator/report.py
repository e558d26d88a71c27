"""What a simulated call produced: what was heard, pressed, requested, and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Utterance:
    """Something a party heard, at a virtual time."""

    at: float
    text: str
    kind: str = "say"  # say, play, beep, error
    interrupted: bool = False


@dataclass
class KeyPress:
    """Keys a party pressed at one Gather."""

    at: float
    digits: str
    gather: int


@dataclass
class Webhook:
    """One request Twilio made, with its real latency."""

    at: float
    leg: str
    kind: str  # twiml, status, action, callback
    method: str
    url: str
    status: int
    latency_ms: float
    error_code: int | None = None
    server_ms: float | None = None  # the service's own time (Server-Timing), when it says
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class SimError:
    """A problem Twilio would log (or the simulator found)."""

    at: float
    leg: str
    code: int | None
    message: str
    url: str = ""


@dataclass
class Recording:
    """What a <Record> verb or a voicemail box captured."""

    sid: str
    call_sid: str
    url: str
    duration: float
    text: str


@dataclass
class LegReport:
    """One call leg (the caller's, or a phone the service rang)."""

    sid: str
    direction: str
    from_: str
    to: str
    party: str
    status: str = "queued"
    parent: str | None = None
    created_at: float = 0.0
    rang_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    heard: list[Utterance] = field(default_factory=list)
    keys: list[KeyPress] = field(default_factory=list)
    bridged_with: list[str] = field(default_factory=list)

    @property
    def heard_text(self) -> str:
        return " ".join(u.text for u in self.heard)


@dataclass
class CallReport:
    """Everything about one simulated inbound call, for assertions and the terminal."""

    sid: str
    caller: LegReport
    legs: list[LegReport] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    errors: list[SimError] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    first_ring: float | None = None
    connected: float | None = None
    connected_to: str | None = None
    connected_party: str | None = None
    hangup: float | None = None

    @property
    def status(self) -> str:
        return self.caller.status

    @property
    def heard(self) -> list[str]:
        """What the caller heard, in order."""
        return [u.text for u in self.caller.heard]

    @property
    def heard_text(self) -> str:
        return self.caller.heard_text

    @property
    def keys(self) -> list[str]:
        return [k.digits for k in self.caller.keys]

    @property
    def dialled(self) -> list[str]:
        """Numbers the service rang, in order."""
        return [leg.to for leg in self.legs]

    @property
    def failed(self) -> bool:
        """True if Twilio would have logged an error for this call."""
        return bool(self.errors)

    def leg_to(self, number: str) -> LegReport:
        """The (first) leg that rang `number`."""
        return next(leg for leg in self.legs if leg.to == number)

    def timeline(self) -> str:
        """A readable account of the call."""
        lines = [f"Call {self.sid}: {self.status}"]
        events: list[tuple[float, str]] = []
        for u in self.caller.heard:
            cut = " (interrupted)" if u.interrupted else ""
            events.append((u.at, f"caller hears: {u.text}{cut}"))
        for k in self.caller.keys:
            events.append((k.at, f"caller presses {k.digits or '(nothing)'}"))
        for leg in self.legs:
            if leg.rang_at is not None:
                events.append((leg.rang_at, f"{leg.to} ({leg.party}) rings"))
            if leg.answered_at is not None:
                events.append((leg.answered_at, f"{leg.to} answers"))
            for k in leg.keys:
                events.append((k.at, f"{leg.to} presses {k.digits or '(nothing)'}"))
            if leg.ended_at is not None:
                events.append((leg.ended_at, f"{leg.to} ends: {leg.status}"))
        for e in self.errors:
            events.append((e.at, f"ERROR {e.code or ''} {e.message} {e.url}".rstrip()))
        for at, text in sorted(events, key=lambda ev: ev[0]):
            lines.append(f"  {at:7.1f}s  {text}")
        lines.append(f"  first engineer rang: {_secs(self.first_ring)}")
        who = f" ({self.connected_to}, {self.connected_party})" if self.connected_to else ""
        lines.append(f"  engineer connected: {_secs(self.connected)}{who}")
        lines.append(f"  caller hung up: {_secs(self.hangup)}")
        slow = max((w.latency_ms for w in self.webhooks), default=0.0)
        lines.append(f"  webhooks: {len(self.webhooks)}, slowest {slow:.0f} ms")
        return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"
