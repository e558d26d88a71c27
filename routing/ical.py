"""A schedule's shifts as an RFC 5545 iCalendar feed, for engineers' own calendars."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from routing.policy import Responder
from routing.schedule import Schedule, require_aware, shifts

PRODID = "-//Sev-1 Hotline//On-call schedules//EN"
UID_DOMAIN = "sev1-hotline"


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT value with RFC 5545's escapes (backslash, semicolon, comma, newline)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """`line` folded so no physical line exceeds 75 octets, never splitting a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            # A continuation line starts with one space, which counts towards its 75 octets.
            current, size, limit = " ", 1, 75
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


def shift_uid(schedule: Schedule, engineer: str, start: datetime) -> str:
    """A UID that stays the same for a shift across feed requests."""
    digest = hashlib.sha256(f"{schedule.name}\0{engineer}\0{_stamp(start)}".encode()).hexdigest()
    return f"{digest[:32]}@{UID_DOMAIN}"


def _calendar(title: str, events: list[tuple[str, datetime, datetime, str]], dtstamp: str) -> str:
    """A VCALENDAR named `title` with one VEVENT per (uid, start, end, summary)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(title)}",
    ]
    for uid, start, end, summary in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART:{_stamp(start)}",
            f"DTEND:{_stamp(end)}",
            f"SUMMARY:{escape_text(summary)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def schedule_ical(
    schedule: Schedule,
    engineers: Mapping[str, Responder],
    start: datetime,
    end: datetime,
    stamp: datetime | None = None,
) -> str:
    """A VCALENDAR with one VEVENT per shift of `schedule` overlapping [start, end).

    DTSTAMP is `stamp`, defaulting to `start`, so the same inputs give the same text.
    """
    start, end = require_aware(start), require_aware(end)
    events = []
    for shift in shifts(schedule, start, end):
        responder = engineers.get(shift.engineer)
        name = responder.name if responder else shift.engineer
        uid = shift_uid(schedule, shift.engineer, shift.start)
        events.append((uid, shift.start, shift.end, f"On call: {name} ({schedule.name})"))
    return _calendar(f"On call: {schedule.name}", events, _stamp(stamp or start))


def engineer_ical(
    engineer: Responder,
    schedules: Mapping[str, Schedule],
    start: datetime,
    end: datetime,
    stamp: datetime | None = None,
) -> str:
    """A VCALENDAR of `engineer`'s own shifts in every schedule, overlapping [start, end)."""
    start, end = require_aware(start), require_aware(end)
    events = [
        (
            # The same UID as in the schedule's feed: one shift is one event in any calendar.
            shift_uid(schedule, shift.engineer, shift.start),
            shift.start,
            shift.end,
            f"On call: {schedule.name}",
        )
        for name in sorted(schedules)
        for schedule in [schedules[name]]
        for shift in shifts(schedule, start, end)
        if shift.engineer == engineer.key
    ]
    events.sort(key=lambda event: (event[1], event[3]))
    return _calendar(f"On call: {engineer.name}", events, _stamp(stamp or start))
