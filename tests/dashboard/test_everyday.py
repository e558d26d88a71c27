"""Time zones, the severity-1 report, the timeline by phase, severity sort, phone-first ticket."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.reports import sev1_report
from dashboard.timeline import PhaseKind, TimelineEntry, group_phases
from models import Account, Ticket, TicketOutcome, TicketStatus, utcnow
from models.users import User
from tests.dashboard.conftest import PASSWORD, T0, Browser, csrf_of, seed_call_ticket


def test_first_sign_in_takes_the_browsers_zone_and_times_are_labelled(
    client: Any, manager: Any, call_ticket: Ticket, session: Session
) -> None:
    token = csrf_of(client)
    client.post(
        "/dashboard/login",
        data={
            "username": "maria",
            "password": PASSWORD,
            "csrf_token": token,
            "time_zone": "America/New_York",
        },
    )
    session.expire_all()
    assert session.scalar(select(User.time_zone).where(User.username == "maria")) == (
        "America/New_York"
    )
    page = client.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    # 09:00 UTC on 2 March is 04:00 in New York (EST), and says so.
    assert "2026-03-02 04:00:00 EST" in page
    assert 'id="viewer-zone">America/New_York<' in page


def test_profile_changes_the_zone_and_refuses_a_made_up_one(
    as_manager: Browser, call_ticket: Ticket
) -> None:
    done = as_manager.post(
        "/dashboard/profile/time-zone", data={"time_zone": "Asia/Tokyo"}, follow_redirects=True
    )
    assert "Times are now shown in Asia/Tokyo." in done.data.decode()
    page = as_manager.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert "2026-03-02 18:00:00 JST" in page
    bad = as_manager.post(
        "/dashboard/profile/time-zone", data={"time_zone": "Mars/Olympus"}, follow_redirects=True
    )
    assert "Mars/Olympus is not a time zone" in bad.data.decode()
    assert "Asia/Tokyo" in as_manager.get("/dashboard/profile").data.decode()


def test_csv_and_api_stay_in_utc(
    as_manager: Browser, call_ticket: Ticket, manager_token: str
) -> None:
    as_manager.post("/dashboard/profile/time-zone", data={"time_zone": "Asia/Tokyo"})
    csv_text = as_manager.get("/dashboard/tickets/export.csv").data.decode()
    assert "2026-03-02T09:00:00+00:00" in csv_text
    api = as_manager.client.get(
        f"/api/v1/tickets/{call_ticket.id}", headers={"Authorization": f"Bearer {manager_token}"}
    )
    assert api.status_code == 200 and api.json["created_at"].startswith("2026-03-02T09:00:00")


def test_severity_sort_puts_severity_1_first_and_unclassified_last(
    as_manager: Browser, session: Session, many_tickets: list[Ticket]
) -> None:
    unknown = Ticket(subject="Unclassified call", category="phone", created_at=T0)
    session.add(unknown)
    session.commit()
    page = as_manager.get("/dashboard/tickets/?sort=severity&per_page=100").data.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert 'sev-1"' in rows[0]
    assert "Unclassified call" in rows[-1] or "Unclassified call" not in page.split("<tbody>")[1]


def test_the_severity_1_report_lists_the_last_7_days(
    as_manager: Browser, app: Flask, session: Session
) -> None:
    def seeded(days_ago: int, accepted: bool = True) -> Ticket:
        # Each solved at once, so the next call opens a ticket of its own.
        ticket = seed_call_ticket(
            app, session, utcnow() - timedelta(days=days_ago), accepted=accepted
        )
        ticket.status = TicketStatus.SOLVED
        if not accepted:
            ticket.outcome = TicketOutcome.MISSED
        session.commit()
        return ticket

    stale = seeded(9)
    recent = seeded(2)
    missed = seeded(1, accepted=False)
    page = as_manager.get("/dashboard/reports/severity-1").data.decode()
    assert recent.number in page and missed.number in page and stale.number not in page
    assert 'id="report-tickets">2<' in page
    assert missed.outcome is TicketOutcome.MISSED and 'id="report-missed">1<' in page
    assert "Print or save as PDF" in page
    css = as_manager.get("/dashboard/static/dashboard.css")
    assert "@media print" in css.data.decode()
    css.close()


def _sev1_at(session: Session, *instants: datetime) -> list[Ticket]:
    tickets = [
        Ticket(subject=f"Down at {at:%d %b %H:%M} UTC", severity=1, category="phone", created_at=at)
        for at in instants
    ]
    session.add_all(tickets)
    session.commit()
    return tickets


@pytest.mark.parametrize(
    ("zone", "now", "first_day", "inside", "outside"),
    [
        # Monday 10:30 in Tokyo (01:30 UTC): the week is Tue 3 to Mon 9 March, Tokyo days,
        # which began at 15:00 UTC on 2 March; UTC days would start 9 hours later.
        (
            "Asia/Tokyo",
            datetime(2026, 3, 9, 1, 30, tzinfo=UTC),
            date(2026, 3, 3),
            [datetime(2026, 3, 2, 15, 1, tzinfo=UTC), datetime(2026, 3, 2, 23, 0, tzinfo=UTC)],
            [datetime(2026, 3, 2, 14, 59, tzinfo=UTC)],
        ),
        # Sunday 23:30 in New York, the day clocks went forward (03:30 UTC on Monday): the
        # week is Mon 2 to Sun 8 March, New York days, from 05:00 UTC (EST) to 04:00 UTC (EDT);
        # by UTC days Monday 9 March would already be "today" and 2 March outside.
        (
            "America/New_York",
            datetime(2026, 3, 9, 3, 30, tzinfo=UTC),
            date(2026, 3, 2),
            [datetime(2026, 3, 2, 5, 1, tzinfo=UTC), datetime(2026, 3, 9, 2, 0, tzinfo=UTC)],
            [datetime(2026, 3, 2, 4, 59, tzinfo=UTC)],
        ),
    ],
)
def test_the_severity_1_report_counts_days_in_the_viewers_time_zone(
    app: Flask,
    session: Session,
    zone: str,
    now: datetime,
    first_day: date,
    inside: list[datetime],
    outside: list[datetime],
) -> None:
    wanted = _sev1_at(session, *inside)
    _sev1_at(session, *outside)
    report = sev1_report(session, now, zone)
    assert (report.first_day, report.last_day) == (first_day, first_day + timedelta(days=6))
    assert [t.id for t in report.tickets] == [t.id for t in wanted]
    in_utc = sev1_report(session, now)
    assert [t.id for t in in_utc.tickets] != [t.id for t in wanted]


def test_the_report_page_uses_the_viewers_days_and_its_links_list_the_same_tickets(
    as_manager: Browser, session: Session
) -> None:
    # Kiritimati is UTC+14: its days and UTC's differ for 14 hours of every day.
    zone = ZoneInfo("Pacific/Kiritimati")
    as_manager.post("/dashboard/profile/time-zone", data={"time_zone": "Pacific/Kiritimati"})
    local_now = datetime.now(zone)
    if local_now.hour == 23 and local_now.minute == 59:
        time.sleep(61 - local_now.second)  # not across a local midnight
    today = datetime.now(zone).date()
    first = today - timedelta(days=6)
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    inside, before = _sev1_at(session, start + timedelta(minutes=1), start - timedelta(minutes=1))
    page = as_manager.get("/dashboard/reports/severity-1").data.decode()
    assert inside.number in page and before.number not in page
    assert 'id="report-tickets">1<' in page
    days = re.search(r'id="report-days">([^<]*)<', page)
    assert days and f"{first:%a %d %b} 00:00" in days.group(1)
    assert "in Pacific/Kiritimati" in days.group(1)
    link = re.search(r'<a class="tile" href="([^"]+)"', page)
    assert link and "tz=Pacific/Kiritimati" in link.group(1)
    listed = as_manager.get(link.group(1).replace("&amp;", "&")).data.decode()
    assert inside.number in listed and before.number not in listed
    assert "1 ticket<" in listed and "days in Pacific/Kiritimati" in listed


def test_engineers_cannot_open_the_report(as_engineer: Browser) -> None:
    assert as_engineer.get("/dashboard/reports/severity-1").status_code == 403


def _entry(kind: str, seconds: int, summary: str = "", rung: str | None = None) -> TimelineEntry:
    return TimelineEntry(
        at=T0 + timedelta(seconds=seconds),
        offset="",
        kind=kind,
        label=kind,
        summary=summary,
        tone="neutral",
        details=[],
        rung=rung,
    )


def test_the_timeline_groups_phases_and_folds_repeated_rounds() -> None:
    entries = [
        _entry("call_started", 0),
        _entry("pin_ok", 9),
        _entry("severity", 15),
        _entry("ringing_started", 16),
        # Three rounds of Ann and Bob not answering, then a fourth where Bob accepts.
        *[
            e
            for r in range(3)
            for e in (
                _entry("ring_attempt", 36 + 40 * r, "Ann: no answer", "Ann"),
                _entry("ring_attempt", 56 + 40 * r, "Bob: no answer", "Bob"),
            )
        ],
        _entry("ring_attempt", 156, "Ann: no answer", "Ann"),
        _entry("ring_attempt", 170, "Bob: accepted", "Bob"),
        _entry("accepted", 171, "Bob"),
        _entry("call_ended", 471, "duration 5 min"),
        _entry("recording", 480),
    ]
    phases = group_phases(entries)
    assert [(p.kind, p.round_no) for p in phases] == [
        (PhaseKind.IVR, 0),
        (PhaseKind.RINGING, 1),
        (PhaseKind.RINGING, 4),
        (PhaseKind.CONNECTED, 4),
        (PhaseKind.FOLLOW_UPS, 4),
    ]
    first_round = phases[1]
    assert first_round.title == "Ringing, round 1"
    # Rounds 2 and 3 went exactly like round 1: folded under it.
    assert [r.round_no for r in first_round.repeats] == [2, 3]
    assert phases[0].seconds == 16
    assert phases[3].title == "Connected" and phases[3].seconds == 309


def test_the_ticket_page_puts_the_caller_and_note_box_first(
    as_engineer: Browser, call_ticket: Ticket, session: Session
) -> None:
    account = session.scalars(select(Account)).one()
    account.contacts[0].phone = "+15557654321"
    session.commit()
    page = as_engineer.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    top = page.index('id="ticket-top"')
    assert top < page.index('id="timeline"') and top < page.index("Details</h2>")
    assert 'href="tel:+15551234567"' in page and "Call back the number that called" in page
    assert 'href="tel:+15557654321"' in page, page[page.index('id="caller-card"') :][:1500]
    assert "Call Carol Caller's phone on file" in page
    assert page.index('id="note-body"') < page.index('id="timeline"')
    assert "Renew standing PIN" not in page and "carol@acme.test" in page
