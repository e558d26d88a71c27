"""Calendar feeds: a schedule's or an engineer's shifts, stable UIDs, RFC 5545 framing."""

from __future__ import annotations

from datetime import UTC, datetime

from routing.ical import engineer_ical, fold, schedule_ical
from routing.policy import Responder
from routing.schedule import Override, Rotation, Schedule

SCHEDULE = Schedule(
    "primary, EMEA",
    "Europe/London",
    (Rotation.weekly(datetime(2026, 3, 16, 9, 0), "Europe/London", ("ann", "bob")),),
    (Override("cy", datetime(2026, 3, 25, 12, tzinfo=UTC), datetime(2026, 3, 25, 14, tzinfo=UTC)),),
)
ENGINEERS = {
    "ann": Responder("ann", "Ann Ops", "+15005550101"),
    "bob": Responder("bob", "Bob Ops", "+15005550102"),
}
START = datetime(2026, 3, 20, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)


def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def events(text: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            found.append({})
        elif found and line != "END:VEVENT" and ":" in line and line != "END:VCALENDAR":
            key, value = line.split(":", 1)
            found[-1][key] = value
    return found


def test_one_event_per_shift_in_utc() -> None:
    text = schedule_ical(SCHEDULE, ENGINEERS, START, END)
    lines = unfold(text)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert [(e["SUMMARY"], e["DTSTART"], e["DTEND"]) for e in events(text)] == [
        ("On call: Ann Ops (primary\\, EMEA)", "20260316T090000Z", "20260323T090000Z"),
        ("On call: Bob Ops (primary\\, EMEA)", "20260323T090000Z", "20260325T120000Z"),
        ("On call: cy (primary\\, EMEA)", "20260325T120000Z", "20260325T140000Z"),
        ("On call: Bob Ops (primary\\, EMEA)", "20260325T140000Z", "20260330T080000Z"),
        # 30 March is after the UK's change to summer time: 09:00 BST is 08:00Z.
        ("On call: Ann Ops (primary\\, EMEA)", "20260330T080000Z", "20260406T080000Z"),
    ]
    assert all(e["DTSTAMP"] == "20260320T000000Z" for e in events(text))


def test_uids_are_unique_and_stable_across_windows() -> None:
    first = {e["DTSTART"]: e["UID"] for e in events(schedule_ical(SCHEDULE, ENGINEERS, START, END))}
    later = schedule_ical(SCHEDULE, ENGINEERS, datetime(2026, 3, 24, tzinfo=UTC), END)
    second = {e["DTSTART"]: e["UID"] for e in events(later)}
    assert len(set(first.values())) == len(first)
    assert second.items() <= first.items() and len(second) == 4


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    line = "SUMMARY:" + "On call: Zoë Ünal-Øster (" + "é" * 60 + ")"
    folded = fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 1
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join([parts[0], *(p[1:] for p in parts[1:])]) == line


BACKUP = Schedule(
    "backup",
    "UTC",
    (Rotation.weekly(datetime(2026, 3, 16, 0, 0), "UTC", ("bob", "ann")),),
)


def test_an_engineers_feed_has_only_their_shifts_from_every_schedule() -> None:
    schedules = {"primary, EMEA": SCHEDULE, "backup": BACKUP}
    text = engineer_ical(ENGINEERS["bob"], schedules, START, END)
    assert "X-WR-CALNAME:On call: Bob Ops" in unfold(text)
    assert [(e["SUMMARY"], e["DTSTART"], e["DTEND"]) for e in events(text)] == [
        ("On call: backup", "20260316T000000Z", "20260323T000000Z"),
        ("On call: primary\\, EMEA", "20260323T090000Z", "20260325T120000Z"),
        # Cy's override takes 25 March 12:00-14:00 out of Bob's week.
        ("On call: primary\\, EMEA", "20260325T140000Z", "20260330T080000Z"),
        ("On call: backup", "20260330T000000Z", "20260406T000000Z"),
    ]


def test_a_shift_has_the_same_uid_in_the_engineers_and_the_schedules_feed() -> None:
    mine = {
        e["DTSTART"]: e["UID"]
        for e in events(engineer_ical(ENGINEERS["ann"], {"p": SCHEDULE}, START, END))
    }
    whole = {e["DTSTART"]: e["UID"] for e in events(schedule_ical(SCHEDULE, ENGINEERS, START, END))}
    assert mine and mine.items() <= whole.items()
