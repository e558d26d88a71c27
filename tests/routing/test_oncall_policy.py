"""Escalation policies expanded at an instant into the ordered steps the ringing code walks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routing.policy import EscalationPolicy, Level, Responder, Target, escalation_plan
from routing.schedule import Override, Rotation, Schedule

T = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)

ENGINEERS = {
    "ann": Responder("ann", "Ann", "+15005550101"),
    "bob": Responder("bob", "Bob", "+15005550102"),
    "cy": Responder("cy", "Cy", "+15005550103"),
    "off": Responder("off", "Off Duty", "+15005550104", active=False),
    "nophone": Responder("nophone", "No Phone", None),
}
SCHEDULES = {
    # Weekly from Monday 8 June 09:00 London: ann is on call at T.
    "primary": Schedule(
        "primary",
        "Europe/London",
        (Rotation.weekly(datetime(2026, 6, 8, 9, 0), "Europe/London", ("ann", "bob")),),
    ),
    "covered": Schedule(
        "covered",
        "UTC",
        overrides=(Override("off", T, datetime(2026, 6, 11, tzinfo=UTC)),),
    ),
    "empty": Schedule("empty", "UTC"),
}


def sched(name: str) -> Target:
    return Target("schedule", name)


def eng(key: str) -> Target:
    return Target("engineer", key)


def steps(policy: EscalationPolicy) -> list[tuple[int, int, tuple[str, ...], int]]:
    return [
        (s.round, s.level, tuple(r.key for r in s.responders), s.ring_timeout_seconds)
        for s in escalation_plan(policy, SCHEDULES, ENGINEERS, T)
    ]


CASES = [
    (
        "simultaneous level is one step; default timeout 20 s",
        EscalationPolicy("p", (Level((sched("primary"), eng("cy"))),), repeat=0),
        [(0, 1, ("ann", "cy"), 20)],
    ),
    (
        "sequential level is one step per engineer, in target order",
        EscalationPolicy("p", (Level((eng("cy"), sched("primary")), "sequential", 15),), repeat=0),
        [(0, 1, ("cy",), 15), (0, 1, ("ann",), 15)],
    ),
    (
        "default repeat 2 runs the levels three times",
        EscalationPolicy(
            "p", (Level((sched("primary"),)), Level((eng("bob"),), ring_timeout_seconds=30))
        ),
        [
            (0, 1, ("ann",), 20),
            (0, 2, ("bob",), 30),
            (1, 1, ("ann",), 20),
            (1, 2, ("bob",), 30),
            (2, 1, ("ann",), 20),
            (2, 2, ("bob",), 30),
        ],
    ),
    (
        "an engineer both on call and named is rung once per step",
        EscalationPolicy("p", (Level((eng("ann"), sched("primary"), eng("ann"))),), repeat=0),
        [(0, 1, ("ann",), 20)],
    ),
    (
        "sequential dedupes too",
        EscalationPolicy(
            "p", (Level((sched("primary"), eng("ann"), eng("bob")), "sequential"),), repeat=0
        ),
        [(0, 1, ("ann",), 20), (0, 1, ("bob",), 20)],
    ),
    (
        "inactive, phoneless and unknown engineers are skipped",
        EscalationPolicy(
            "p", (Level((eng("off"), eng("nophone"), eng("ghost"), eng("bob"))),), repeat=0
        ),
        [(0, 1, ("bob",), 20)],
    ),
    (
        "a level with nobody reachable at t is skipped, keeping level numbers",
        EscalationPolicy(
            "p",
            (Level((sched("empty"),)), Level((sched("covered"),)), Level((eng("cy"),))),
            repeat=1,
        ),
        [(0, 3, ("cy",), 20), (1, 3, ("cy",), 20)],
    ),
    (
        "nobody reachable at all gives an empty plan",
        EscalationPolicy("p", (Level((sched("empty"), eng("off"))),)),
        [],
    ),
]


@pytest.mark.parametrize(("policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_escalation_plan(
    policy: EscalationPolicy, expected: list[tuple[int, int, tuple[str, ...], int]]
) -> None:
    assert steps(policy) == expected


def test_the_plan_follows_the_schedule_at_t() -> None:
    policy = EscalationPolicy("p", (Level((sched("primary"),)),), repeat=0)
    next_week = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # 09:00 BST: bob's week begins
    plan = escalation_plan(policy, SCHEDULES, ENGINEERS, next_week)
    assert [r.phone for s in plan for r in s.responders] == ["+15005550102"]
