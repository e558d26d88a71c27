"""Places where legs meet: two-party bridges, conference rooms and call queues."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.legs import Leg


@dataclass
class Bridge:
    """Two legs talking to each other; either side may end it."""

    a: Leg
    b: Leg
    started: float
    ended: bool = False
    ended_at: float | None = None

    def other(self, leg: Leg) -> Leg:
        return self.b if leg is self.a else self.a

    def end(self, by: Leg, now: float) -> None:
        """Hang up the bridge; the other side stops talking."""
        if self.ended:
            return
        self.ended, self.ended_at = True, now
        self.other(by).poke()


@dataclass
class Participant:
    """A leg in a conference and the attributes it joined with."""

    leg: Leg
    start: bool
    end_on_exit: bool
    wait_url: str | None
    wait_method: str
    doc_url: str
    had_company: bool = False


@dataclass
class Conference:
    """A named room; it starts when a startConferenceOnEnter participant is present."""

    name: str
    sid: str = field(default_factory=lambda: "CF" + uuid.uuid4().hex)
    participants: list[Participant] = field(default_factory=list)
    started: bool = False
    ended: bool = False

    def join(self, p: Participant) -> None:
        self.participants.append(p)
        if p.start:
            self.started = True
        self._poke(p)

    def leave(self, p: Participant) -> None:
        if p in self.participants:
            self.participants.remove(p)
        if p.end_on_exit and self.started:
            self.ended = True
        if not self.participants:
            # An empty room is over; the next to join opens a new one, as with Twilio.
            self.ended = True
        self._poke(p)

    def others(self, p: Participant) -> list[Participant]:
        return [o for o in self.participants if o is not p]

    def _poke(self, p: Participant) -> None:
        for other in self.others(p):
            other.leg.poke()


@dataclass
class QueueEntry:
    """A caller waiting in a queue."""

    leg: Leg
    joined: float
    bridge: Bridge | None = None
    announce_url: str | None = None
    announce_method: str = "POST"
    dequeuer: Leg | None = None


@dataclass
class CallQueue:
    """A named queue of waiting callers, and the legs waiting to dequeue one."""

    name: str
    sid: str = field(default_factory=lambda: "QU" + uuid.uuid4().hex)
    waiters: list[QueueEntry] = field(default_factory=list)
    dequeuers: list[Leg] = field(default_factory=list)
    total_wait: float = 0.0
    served: int = 0

    def add(self, entry: QueueEntry) -> None:
        self.waiters.append(entry)
        for leg in self.dequeuers:
            leg.poke()
