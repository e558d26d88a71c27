"""Routing summaries: now/next per schedule, policies in words, an engineer's shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.config import parse_routing_yaml
from routing.policy import Level, Target
from routing.summary import (
    describe_policies,
    engineer_shifts,
    key_of_engineer,
    level_text,
    on_call_now,
    product_policies,
    repeats_text,
    schedule_now,
    seconds_text,
)

CONFIG = parse_routing_yaml(
    """
engineers:
  dana: {name: Dana Reyes, phone: "+15005550101", timezone: America/New_York}
  sam: {name: Sam Okafor, phone: "+15005550102", timezone: Europe/London}
  lee: {name: Lee Park, phone: "+15005550103", timezone: Asia/Tokyo}
  old: {name: Old Timer, phone: "+15005550104", active: false}
schedules:
  primary:
    timezone: America/New_York
    layers:
      - {rotation: weekly, start: "2026-01-05 09:00", participants: [dana, sam, lee]}
    overrides:
      - {engineer: lee, start: "2026-03-11 00:00", end: "2026-03-12 00:00"}
  nights:
    timezone: UTC
    layers:
      - {rotation: daily, start: "2026-03-01 20:00", end: "2026-03-20 20:00", participants: [sam]}
policies:
  default:
    repeat: 2
    levels:
      - {targets: [{schedule: primary}], ring_timeout: 20}
      - targets: [{engineer: dana}, {engineer: sam}]
        strategy: sequential
        ring_timeout: 30
  vip:
    repeat: 0
    levels:
      - {targets: [{engineer: lee}], ring_timeout: 90}
default_policy: default
products: {router: vip, firewall: vip, switch: default}
"""
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "now", "following", "handoff"),
    [
        # Monday 9 March 2026, 09:00 New York (EDT since the 8th) is 13:00 UTC.
        ("2026-03-09 12:59", ["Lee Park"], ["Dana Reyes"], "2026-03-09 13:00"),
        ("2026-03-09 13:00", ["Dana Reyes"], ["Lee Park"], "2026-03-11 04:00"),
        # The override: Lee covers the 11th New York time, then Dana again.
        ("2026-03-11 04:00", ["Lee Park"], ["Dana Reyes"], "2026-03-12 04:00"),
        # Before the first handoff nobody is on call; Dana starts it.
        ("2026-01-01 00:00", [], ["Dana Reyes"], "2026-01-05 14:00"),
    ],
)
def test_primary_now_and_next(at: str, now: list[str], following: list[str], handoff: str) -> None:
    found = schedule_now(CONFIG, "primary", utc(at))
    assert [r.name for r in found.now] == now
    assert [r.name for r in found.next] == following
    assert found.handoff == utc(handoff)
    assert found.time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("at", "now", "following", "handoff"),
    [
        ("2026-03-10 12:00", ["Sam Okafor"], [], "2026-03-20 20:00"),
        # After the layer ends nothing changes again: nobody now, nobody next.
        ("2026-04-01 00:00", [], [], None),
    ],
)
def test_a_schedule_that_ends(
    at: str, now: list[str], following: list[str], handoff: str | None
) -> None:
    found = schedule_now(CONFIG, "nights", utc(at))
    assert [r.name for r in found.now] == now
    assert [r.name for r in found.next] == following
    assert found.handoff == (utc(handoff) if handoff else None)


def test_on_call_now_lists_every_schedule_by_name() -> None:
    assert [s.name for s in on_call_now(CONFIG, utc("2026-03-10 00:00"))] == ["nights", "primary"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        schedule_now(CONFIG, "primary", datetime(2026, 3, 10))


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5 s"), (20, "20 s"), (60, "1 min"), (90, "1 min 30 s")]
)
def test_seconds_text(seconds: int, text: str) -> None:
    assert seconds_text(seconds) == text


@pytest.mark.parametrize(
    ("level", "text"),
    [
        (
            Level((Target("schedule", "primary"),), "simultaneous", 20),
            'Ring everyone on call for schedule "primary" at the same time for 20 s',
        ),
        (
            Level((Target("schedule", "primary"),), "sequential", 15),
            'Ring everyone on call for schedule "primary" one at a time, 15 s each',
        ),
        (Level((Target("engineer", "lee"),), "sequential", 90), "Ring Lee Park for 1 min 30 s"),
        (
            Level(
                (Target("engineer", "dana"), Target("engineer", "sam"), Target("engineer", "lee")),
                "simultaneous",
                20,
            ),
            "Ring Dana Reyes, Sam Okafor and Lee Park at the same time for 20 s",
        ),
        (
            Level((Target("engineer", "old"),), "simultaneous", 20),
            "Ring Old Timer (cannot be rung) for 20 s",
        ),
    ],
)
def test_level_text(level: Level, text: str) -> None:
    assert level_text(CONFIG, level) == text


@pytest.mark.parametrize(
    ("repeat", "text"),
    [
        (0, "Runs once through the levels, then gives up."),
        (1, "Repeats the levels once more (2 rounds in all), then gives up."),
        (2, "Repeats the levels 2 more times (3 rounds in all), then gives up."),
    ],
)
def test_repeats_text(repeat: int, text: str) -> None:
    assert repeats_text(repeat) == text


def test_policies_default_first_with_their_products() -> None:
    default, vip = describe_policies(CONFIG)
    assert (default.name, default.is_default, default.products) == ("default", True, ("switch",))
    assert default.levels == (
        'Ring everyone on call for schedule "primary" at the same time for 20 s',
        "Ring Dana Reyes and Sam Okafor one at a time, 30 s each",
    )
    assert (vip.name, vip.is_default, vip.products) == ("vip", False, ("firewall", "router"))
    assert vip.repeats == "Runs once through the levels, then gives up."
    assert product_policies(CONFIG) == [
        ("firewall", "vip"),
        ("router", "vip"),
        ("switch", "default"),
    ]


def test_engineer_shifts_across_schedules() -> None:
    start = utc("2026-03-09 00:00")
    lee = engineer_shifts(CONFIG, "lee", start, start + timedelta(days=3))
    assert [(s.schedule, s.start, s.end) for s in lee] == [
        # The shift already running keeps its real start (09:00 EST on 2 March).
        ("primary", utc("2026-03-02 14:00"), utc("2026-03-09 13:00")),
        ("primary", utc("2026-03-11 04:00"), utc("2026-03-12 04:00")),
    ]
    sam = engineer_shifts(CONFIG, "sam", start, start + timedelta(days=3))
    # Back-to-back nightly shifts merge into one stretch, from the 1st to the 20th.
    assert [(s.schedule, s.start, s.end) for s in sam] == [
        ("nights", utc("2026-03-01 20:00"), utc("2026-03-20 20:00")),
    ]
    assert engineer_shifts(CONFIG, "old", start, start + timedelta(days=3)) == []


def test_key_of_engineer_by_row_id() -> None:
    assert key_of_engineer(CONFIG, 1) is None  # parsed, never stored: no row ids
