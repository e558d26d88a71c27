"""Schedules and who is on call at an instant: pure functions of the schedule and `t`.

Rules, shared by every function here and by the tests' tables:

- A rotation's shifts are half-open, [handoff, next handoff): at the handoff instant itself the
  incoming participant is on call.
- Daily, weekly and day-based custom rotations hand off at the same local wall-clock time in the
  rotation's time zone, so the UTC instant moves with daylight saving. Hour-based custom
  rotations count elapsed hours from the first handoff, so their local time moves instead.
- A local handoff time that does not exist (02:30 on a spring-forward day) is read with the
  offset in force before the change, so it happens at 03:30 new time; a local time that occurs
  twice (01:30 on a fall-back day) means its first occurrence. Both are RFC 5545's rules.
- A rotation has nobody on call before its first handoff (`start`) or from its `end`.
- Later layers win wherever they have someone on call; overrides, [start, end), beat all layers.
  Several overrides at once put all their engineers on call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

RotationKind = Literal["daily", "weekly", "custom"]
RotationUnit = Literal["hours", "days", "weeks"]

# How far beyond a window shifts() looks so a shift keeps its real start and end.
SHIFT_MARGIN = timedelta(days=35)


def require_aware(t: datetime) -> datetime:
    """`t` in UTC; a naive datetime is a programming error, not a guess about its zone."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t.isoformat()} given where an aware one is required")
    return t.astimezone(UTC)


def local_to_utc(local: datetime, time_zone: str) -> datetime:
    """A naive local wall-clock time in `time_zone` as a UTC instant (RFC 5545 gap/fold rules)."""
    # fold=0 gives the pre-transition offset in a gap and the first occurrence in a fold.
    return local.replace(tzinfo=ZoneInfo(time_zone), fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Rotation:
    """One layer of a schedule: participants taking turns, handing off at a fixed rhythm."""

    kind: RotationKind
    start: datetime  # naive, local wall-clock time of the first handoff in `time_zone`
    time_zone: str
    participants: tuple[str, ...]
    length: int = 1  # shifts last `length` units
    unit: RotationUnit = "days"
    end: datetime | None = None  # naive local time after which the layer has nobody

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or (self.end and self.end.tzinfo is not None):
            raise ValueError("a rotation's start and end are naive local times")
        if self.length < 1:
            raise ValueError("a rotation's shifts must last at least one unit")
        ZoneInfo(self.time_zone)

    @classmethod
    def daily(
        cls, start: datetime, time_zone: str, participants: tuple[str, ...], days: int = 1
    ) -> Rotation:
        """A rotation handing off every `days` days at `start`'s local time."""
        return cls("daily", start, time_zone, participants, days, "days")

    @classmethod
    def weekly(
        cls, start: datetime, time_zone: str, participants: tuple[str, ...], weeks: int = 1
    ) -> Rotation:
        """A rotation handing off every `weeks` weeks on `start`'s weekday and local time."""
        return cls("weekly", start, time_zone, participants, weeks, "weeks")

    def handoff(self, k: int) -> datetime:
        """The UTC instant of handoff number `k` (0 is `start`; negative ones are before it)."""
        if self.unit == "hours":
            return local_to_utc(self.start, self.time_zone) + timedelta(hours=self.length * k)
        days = self.length * (7 if self.unit == "weeks" else 1)
        return local_to_utc(self.start + timedelta(days=days * k), self.time_zone)

    def shift_index(self, t: datetime) -> int:
        """The k with handoff(k) <= t < handoff(k + 1)."""
        t = require_aware(t)
        if self.unit == "hours":
            first = local_to_utc(self.start, self.time_zone)
            k = (t - first) // timedelta(hours=self.length)
        else:
            days = self.length * (7 if self.unit == "weeks" else 1)
            local = t.astimezone(ZoneInfo(self.time_zone)).replace(tzinfo=None)
            k = (local - self.start) // timedelta(days=days)
        # The local-time estimate can be one off around a daylight-saving change.
        while self.handoff(k) > t:
            k -= 1
        while self.handoff(k + 1) <= t:
            k += 1
        return k

    def end_utc(self) -> datetime | None:
        """The instant the layer stops, if it does."""
        return local_to_utc(self.end, self.time_zone) if self.end else None

    def on_call_at(self, t: datetime) -> str | None:
        """The participant on this layer at `t`, or None."""
        t = require_aware(t)
        end = self.end_utc()
        if not self.participants or t < self.handoff(0) or (end is not None and t >= end):
            return None
        return self.participants[self.shift_index(t) % len(self.participants)]

    def changes(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The instants in (start, end) where this layer's on-call person may change."""
        if not self.participants:
            return
        stop = self.end_utc()
        if stop is not None and start < stop < end:
            yield stop
        k = max(self.shift_index(start) + 1, 0)
        while (h := self.handoff(k)) < end and (stop is None or h < stop):
            if h > start:
                yield h
            k += 1


@dataclass(frozen=True)
class Override:
    """`engineer` covers the whole schedule from `start` (inclusive) to `end` (exclusive)."""

    engineer: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if require_aware(self.end) <= require_aware(self.start):
            raise ValueError("an override must end after it starts")

    def covers(self, t: datetime) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class Schedule:
    """A named schedule: layers of rotations (later ones win) and overrides on top."""

    name: str
    time_zone: str
    layers: tuple[Rotation, ...] = ()
    overrides: tuple[Override, ...] = field(default=())

    def participants(self) -> tuple[str, ...]:
        """Everyone the schedule can put on call, in first-mention order."""
        keys = [p for layer in self.layers for p in layer.participants]
        keys += [o.engineer for o in self.overrides]
        return tuple(dict.fromkeys(keys))


@dataclass(frozen=True)
class Shift:
    """One engineer's continuous time on call for a schedule, [start, end)."""

    engineer: str
    start: datetime
    end: datetime


def on_call_at(schedule: Schedule, t: datetime) -> tuple[str, ...]:
    """The engineer keys on call for `schedule` at `t`; an empty tuple is a gap."""
    t = require_aware(t)
    covering = [o.engineer for o in schedule.overrides if o.covers(t)]
    if covering:
        return tuple(dict.fromkeys(covering))
    for layer in reversed(schedule.layers):
        who = layer.on_call_at(t)
        if who is not None:
            return (who,)
    return ()


def segments(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, tuple[str, ...]]]:
    """[start, end) cut into maximal stretches with the same people on call."""
    start, end = require_aware(start), require_aware(end)
    cuts = {start, end}
    for layer in schedule.layers:
        cuts.update(layer.changes(start, end))
    for o in schedule.overrides:
        cuts.update(c for c in (o.start.astimezone(UTC), o.end.astimezone(UTC)) if start < c < end)
    ordered = sorted(cuts)
    result: list[tuple[datetime, datetime, tuple[str, ...]]] = []
    for a, b in pairwise(ordered):
        who = on_call_at(schedule, a)
        if result and result[-1][2] == who:
            result[-1] = (result[-1][0], b, who)
        else:
            result.append((a, b, who))
    return result


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Every shift overlapping [start, end), with its real bounds (up to SHIFT_MARGIN beyond)."""
    start, end = require_aware(start), require_aware(end)
    open_shifts: dict[str, Shift] = {}
    done: list[Shift] = []
    for a, b, who in segments(schedule, start - SHIFT_MARGIN, end + SHIFT_MARGIN):
        for key in list(open_shifts):
            if key not in who:
                done.append(open_shifts.pop(key))
        for key in who:
            current = open_shifts.get(key)
            open_shifts[key] = Shift(key, current.start if current else a, b)
    done.extend(open_shifts.values())
    return sorted(
        (s for s in done if s.start < end and s.end > start), key=lambda s: (s.start, s.engineer)
    )


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) when nobody is on call."""
    return [(a, b) for a, b, who in segments(schedule, start, end) if not who]


def next_change(
    schedule: Schedule, t: datetime, horizon: timedelta = timedelta(days=60)
) -> datetime | None:
    """The first instant after `t` when the people on call change, if within `horizon`."""
    t = require_aware(t)
    parts = segments(schedule, t, t + horizon)
    return parts[0][1] if parts and parts[0][1] < t + horizon else None
