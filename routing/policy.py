"""Escalation policies and their expansion, at an instant, into the ordered steps to ring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from routing.schedule import Schedule, on_call_at

Strategy = Literal["simultaneous", "sequential"]
TargetKind = Literal["schedule", "engineer"]

DEFAULT_RING_TIMEOUT = 20
DEFAULT_REPEAT = 2


@dataclass(frozen=True)
class Responder:
    """An engineer as routing sees them: a key in the configuration and how to ring them."""

    key: str
    name: str
    phone: str | None
    email: str | None = None
    timezone: str = "UTC"
    active: bool = True
    engineer_id: int | None = None  # the Engineer row, once the configuration is stored

    @property
    def reachable(self) -> bool:
        return self.active and bool(self.phone)


@dataclass(frozen=True)
class Target:
    """What a level rings: everyone on call for a schedule, or one engineer."""

    kind: TargetKind
    name: str


@dataclass(frozen=True)
class Level:
    """One rung of a policy: its targets, rung all at once or one after another."""

    targets: tuple[Target, ...]
    strategy: Strategy = "simultaneous"
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT


@dataclass(frozen=True)
class EscalationPolicy:
    """Ordered levels, run once and then repeated `repeat` more times before giving up."""

    name: str
    levels: tuple[Level, ...]
    repeat: int = DEFAULT_REPEAT


@dataclass(frozen=True)
class Step:
    """Engineers to ring at the same time, and how long to let their phones ring."""

    responders: tuple[Responder, ...]
    ring_timeout_seconds: int
    level: int  # 1-based level of the policy this step comes from
    round: int  # 0 for the first pass through the levels, 1 for the first repeat, ...


def level_responders(
    level: Level,
    schedules: Mapping[str, Schedule],
    engineers: Mapping[str, Responder],
    t: datetime,
) -> tuple[Responder, ...]:
    """The reachable engineers a level targets at `t`, in target order, each once."""
    keys: list[str] = []
    for target in level.targets:
        if target.kind == "engineer":
            keys.append(target.name)
        elif target.name in schedules:
            keys.extend(on_call_at(schedules[target.name], t))
    found = (engineers.get(key) for key in dict.fromkeys(keys))
    return tuple(r for r in found if r is not None and r.reachable)


def escalation_plan(
    policy: EscalationPolicy,
    schedules: Mapping[str, Schedule],
    engineers: Mapping[str, Responder],
    t: datetime,
) -> list[Step]:
    """The ordered ring steps for a call at `t`; an empty list means nobody can be rung."""
    one_round: list[tuple[int, tuple[Responder, ...], int]] = []
    for number, level in enumerate(policy.levels, start=1):
        people = level_responders(level, schedules, engineers, t)
        if not people:
            continue
        groups = [people] if level.strategy == "simultaneous" else [(p,) for p in people]
        one_round.extend((number, group, level.ring_timeout_seconds) for group in groups)
    return [
        Step(group, timeout, number, round_)
        for round_ in range(policy.repeat + 1)
        for number, group, timeout in one_round
    ]
