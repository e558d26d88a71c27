"""Who is on call at an instant: tables of instants around handoffs, overrides, layers and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.schedule import (
    Override,
    Rotation,
    Schedule,
    gaps,
    next_change,
    on_call_at,
    shifts,
)

NY = "America/New_York"
LONDON = "Europe/London"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def one_layer(rotation: Rotation, *overrides: Override) -> Schedule:
    return Schedule("primary", rotation.time_zone, (rotation,), overrides)


# Weekly, Mondays 09:00 local, from Monday 5 January 2026; week k is participant k % 3.
WEEKLY_NY = one_layer(Rotation.weekly(local("2026-01-05 09:00"), NY, ("ann", "bob", "cy")))
WEEKLY_LONDON = one_layer(Rotation.weekly(local("2026-01-05 09:00"), LONDON, ("ann", "bob", "cy")))

# 2026: the US springs forward on 8 March and falls back on 1 November; the UK on 29 March
# and 25 October. Between them New York and London are four hours apart, not five.
WEEKLY_TABLE = [
    ("ny first handoff itself", WEEKLY_NY, "2026-01-05T14:00:00", "ann"),
    ("ny before the first handoff", WEEKLY_NY, "2026-01-05T13:59:59", None),
    ("ny winter handoff at 14:00Z", WEEKLY_NY, "2026-03-02T14:00:00", "cy"),
    ("ny one second before winter handoff", WEEKLY_NY, "2026-03-02T13:59:59", "bob"),
    ("ny summer handoff moves to 13:00Z", WEEKLY_NY, "2026-03-09T13:00:00", "ann"),
    ("ny one second before summer handoff", WEEKLY_NY, "2026-03-09T12:59:59", "cy"),
    ("ny last summer handoff 13:00Z", WEEKLY_NY, "2026-10-26T13:00:00", "ann"),
    ("ny after fall back, 13:00Z is still before", WEEKLY_NY, "2026-11-02T13:00:00", "ann"),
    ("ny one second before fall handoff", WEEKLY_NY, "2026-11-02T13:59:59", "ann"),
    ("ny fall handoff back at 14:00Z", WEEKLY_NY, "2026-11-02T14:00:00", "bob"),
    ("london winter handoff at 09:00Z", WEEKLY_LONDON, "2026-03-23T09:00:00", "cy"),
    ("london one second before winter handoff", WEEKLY_LONDON, "2026-03-23T08:59:59", "bob"),
    ("london summer handoff moves to 08:00Z", WEEKLY_LONDON, "2026-03-30T08:00:00", "ann"),
    ("london one second before summer handoff", WEEKLY_LONDON, "2026-03-30T07:59:59", "cy"),
    # 16 March: New York is on summer time, London not yet; handoffs are 4 hours apart.
    ("16 Mar london hands off at 09:00Z", WEEKLY_LONDON, "2026-03-16T09:00:00", "bob"),
    ("16 Mar ny has not yet at 12:59:59Z", WEEKLY_NY, "2026-03-16T12:59:59", "ann"),
    ("16 Mar ny hands off at 13:00Z", WEEKLY_NY, "2026-03-16T13:00:00", "bob"),
    ("london last summer handoff 08:00Z", WEEKLY_LONDON, "2026-10-19T08:00:00", "cy"),
    ("london fall handoff back at 09:00Z", WEEKLY_LONDON, "2026-10-26T09:00:00", "ann"),
    ("london one second before fall handoff", WEEKLY_LONDON, "2026-10-26T08:59:59", "cy"),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [row[1:] for row in WEEKLY_TABLE],
    ids=[row[0] for row in WEEKLY_TABLE],
)
def test_weekly_handoffs_keep_local_time_across_dst(
    schedule: Schedule, at: str, expected: str | None
) -> None:
    assert on_call_at(schedule, utc(at)) == ((expected,) if expected else ())


# Handoffs at local times that do not exist (spring) or happen twice (fall).
NY_SPRING_0230 = one_layer(Rotation.daily(local("2026-03-01 02:30"), NY, ("ann", "bob")))
NY_FALL_0130 = one_layer(Rotation.daily(local("2026-10-25 01:30"), NY, ("ann", "bob")))
LONDON_SPRING_0130 = one_layer(Rotation.daily(local("2026-03-22 01:30"), LONDON, ("ann", "bob")))
LONDON_FALL_0130 = one_layer(Rotation.daily(local("2026-10-18 01:30"), LONDON, ("ann", "bob")))

DAILY_DST_TABLE = [
    ("ny 02:30 on 7 Mar is 07:30Z", NY_SPRING_0230, "2026-03-07T07:30:00", "ann"),
    ("ny missing 02:30 becomes 03:30 EDT: before", NY_SPRING_0230, "2026-03-08T07:29:59", "ann"),
    ("ny missing 02:30 becomes 03:30 EDT: at", NY_SPRING_0230, "2026-03-08T07:30:00", "bob"),
    ("ny day after gap, 02:30 EDT: before", NY_SPRING_0230, "2026-03-09T06:29:59", "bob"),
    ("ny day after gap, 02:30 EDT: at", NY_SPRING_0230, "2026-03-09T06:30:00", "ann"),
    ("ny twice-01:30 means the first: before", NY_FALL_0130, "2026-11-01T05:29:59", "ann"),
    ("ny twice-01:30 means the first: at", NY_FALL_0130, "2026-11-01T05:30:00", "bob"),
    ("ny second 01:30 is no handoff", NY_FALL_0130, "2026-11-01T06:30:00", "bob"),
    ("ny next day 01:30 EST: before", NY_FALL_0130, "2026-11-02T06:29:59", "bob"),
    ("ny next day 01:30 EST: at", NY_FALL_0130, "2026-11-02T06:30:00", "ann"),
    ("london missing 01:30 is 02:30 BST: before", LONDON_SPRING_0130, "2026-03-29T01:29:59", "ann"),
    ("london missing 01:30 is 02:30 BST: at", LONDON_SPRING_0130, "2026-03-29T01:30:00", "bob"),
    ("london day after gap: before", LONDON_SPRING_0130, "2026-03-30T00:29:59", "bob"),
    ("london day after gap: at", LONDON_SPRING_0130, "2026-03-30T00:30:00", "ann"),
    ("london twice-01:30 means the first: before", LONDON_FALL_0130, "2026-10-25T00:29:59", "ann"),
    ("london twice-01:30 means the first: at", LONDON_FALL_0130, "2026-10-25T00:30:00", "bob"),
    ("london second 01:30 is no handoff", LONDON_FALL_0130, "2026-10-25T01:30:00", "bob"),
    ("london next day 01:30 GMT: before", LONDON_FALL_0130, "2026-10-26T01:29:59", "bob"),
    ("london next day 01:30 GMT: at", LONDON_FALL_0130, "2026-10-26T01:30:00", "ann"),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [row[1:] for row in DAILY_DST_TABLE],
    ids=[row[0] for row in DAILY_DST_TABLE],
)
def test_daily_handoffs_in_dst_gaps_and_folds(schedule: Schedule, at: str, expected: str) -> None:
    assert on_call_at(schedule, utc(at)) == (expected,)


EVERY_12H = one_layer(
    Rotation("custom", local("2026-03-07 21:00"), NY, ("ann", "bob"), 12, "hours")
)
EVERY_3D = one_layer(Rotation("custom", local("2026-03-06 09:00"), NY, ("ann", "bob"), 3, "days"))
EVERY_2D_LONDON = one_layer(
    Rotation.daily(local("2026-06-01 09:00"), LONDON, ("ann", "bob", "cy"), days=2)
)
FORTNIGHTLY = one_layer(Rotation.weekly(local("2026-06-01 09:00"), LONDON, ("ann", "bob"), weeks=2))

LENGTH_TABLE = [
    ("12h: first handoff 02:00Z", EVERY_12H, "2026-03-08T02:00:00", "ann"),
    ("12h: before the rotation starts, nobody", EVERY_12H, "2026-03-08T01:59:59", None),
    ("12h counts real hours: 14:00Z is 10:00 EDT", EVERY_12H, "2026-03-08T14:00:00", "bob"),
    ("12h: one second before", EVERY_12H, "2026-03-08T13:59:59", "ann"),
    ("12h: back to ann 24 real hours later", EVERY_12H, "2026-03-09T02:00:00", "ann"),
    ("3d: shift over the spring change, before", EVERY_3D, "2026-03-09T12:59:59", "ann"),
    ("3d: hands off at 09:00 EDT", EVERY_3D, "2026-03-09T13:00:00", "bob"),
    ("2 days: second shift", EVERY_2D_LONDON, "2026-06-03T08:00:00", "bob"),
    ("2 days: still second shift a day later", EVERY_2D_LONDON, "2026-06-04T12:00:00", "bob"),
    ("2 days: third shift", EVERY_2D_LONDON, "2026-06-05T08:00:00", "cy"),
    ("2 days: wraps round", EVERY_2D_LONDON, "2026-06-07T08:00:00", "ann"),
    ("2 weeks: still ann after one week", FORTNIGHTLY, "2026-06-08T08:00:00", "ann"),
    ("2 weeks: bob after two", FORTNIGHTLY, "2026-06-15T08:00:00", "bob"),
    ("2 weeks: one second before bob", FORTNIGHTLY, "2026-06-15T07:59:59", "ann"),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [row[1:] for row in LENGTH_TABLE],
    ids=[row[0] for row in LENGTH_TABLE],
)
def test_daily_weekly_and_custom_lengths(schedule: Schedule, at: str, expected: str | None) -> None:
    assert on_call_at(schedule, utc(at)) == ((expected,) if expected else ())


BASE = Rotation.weekly(local("2026-06-01 09:00"), LONDON, ("ann", "bob"))
COVER = Rotation("daily", local("2026-06-02 18:00"), LONDON, ("cy",), end=local("2026-06-04 09:00"))
LAYERED = Schedule(
    "primary",
    LONDON,
    (BASE, COVER),
    (
        Override("dee", utc("2026-06-03T10:00:00"), utc("2026-06-03T12:00:00")),
        Override("eve", utc("2026-06-03T11:00:00"), utc("2026-06-03T13:00:00")),
    ),
)
ENDING = Schedule(
    "night",
    LONDON,
    (
        Rotation(
            "daily", local("2026-06-01 09:00"), LONDON, ("ann",), end=local("2026-06-05 09:00")
        ),
    ),
)
EMPTY = Schedule("empty", LONDON)

LAYER_TABLE = [
    ("base layer alone", LAYERED, "2026-06-02T16:59:59", ("ann",)),
    ("later layer wins from its start", LAYERED, "2026-06-02T17:00:00", ("cy",)),
    ("override start is inclusive", LAYERED, "2026-06-03T10:00:00", ("dee",)),
    ("one second before the override", LAYERED, "2026-06-03T09:59:59", ("cy",)),
    ("overlapping overrides ring both", LAYERED, "2026-06-03T11:30:00", ("dee", "eve")),
    ("override end is exclusive", LAYERED, "2026-06-03T12:00:00", ("eve",)),
    ("after the overrides, the layer again", LAYERED, "2026-06-03T13:00:00", ("cy",)),
    ("later layer ends: base again", LAYERED, "2026-06-04T08:00:00", ("ann",)),
    ("one second before the later layer ends", LAYERED, "2026-06-04T07:59:59", ("cy",)),
    ("layer end leaves a gap", ENDING, "2026-06-05T08:00:00", ()),
    ("one second before the gap", ENDING, "2026-06-05T07:59:59", ("ann",)),
    ("no layers at all is a gap", EMPTY, "2026-06-05T08:00:00", ()),
]


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [row[1:] for row in LAYER_TABLE],
    ids=[row[0] for row in LAYER_TABLE],
)
def test_layers_overrides_and_gaps(schedule: Schedule, at: str, expected: tuple[str, ...]) -> None:
    assert on_call_at(schedule, utc(at)) == expected


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        on_call_at(WEEKLY_NY, datetime(2026, 3, 9, 13))


def test_an_instant_in_any_zone_means_the_same_moment() -> None:
    from zoneinfo import ZoneInfo

    tokyo = datetime(2026, 3, 9, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 13:00Z
    assert on_call_at(WEEKLY_NY, tokyo) == ("ann",)


def test_shifts_have_real_bounds_and_the_spring_week_is_an_hour_short() -> None:
    found = shifts(WEEKLY_NY, utc("2026-03-04T00:00:00"), utc("2026-03-10T00:00:00"))
    assert [(s.engineer, s.start, s.end) for s in found] == [
        ("cy", utc("2026-03-02T14:00:00"), utc("2026-03-09T13:00:00")),
        ("ann", utc("2026-03-09T13:00:00"), utc("2026-03-16T13:00:00")),
    ]
    assert found[0].end - found[0].start == timedelta(hours=7 * 24 - 1)


def test_shifts_merge_layers_and_overrides_per_person() -> None:
    found = shifts(LAYERED, utc("2026-06-03T09:00:00"), utc("2026-06-03T14:00:00"))
    assert [(s.engineer, s.start.hour, s.end.hour) for s in found] == [
        ("cy", 17, 10),
        ("dee", 10, 12),
        ("eve", 11, 13),
        ("cy", 13, 8),
    ]


def test_gaps_and_next_change() -> None:
    assert gaps(ENDING, utc("2026-06-04T00:00:00"), utc("2026-06-06T00:00:00")) == [
        (utc("2026-06-05T08:00:00"), utc("2026-06-06T00:00:00"))
    ]
    assert gaps(WEEKLY_LONDON, utc("2026-03-01T00:00:00"), utc("2026-04-01T00:00:00")) == []
    assert next_change(WEEKLY_LONDON, utc("2026-03-24T00:00:00")) == utc("2026-03-30T08:00:00")
    # At the handoff instant the next change is the following handoff, not this one.
    assert next_change(WEEKLY_LONDON, utc("2026-03-30T08:00:00")) == utc("2026-04-06T08:00:00")
    assert next_change(EMPTY, utc("2026-03-24T00:00:00")) is None
