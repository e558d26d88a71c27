"""On-call, escalation and my-schedule pages, and the token-protected calendar feeds."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import utcnow
from routing.store import load_routing_text
from tests.dashboard.conftest import Browser

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday; Erik's week on "primary"

ROUTING = """
engineers:
  dana: {name: Dana Reyes, phone: "+15005550101", timezone: America/New_York}
  erik: {name: Erik Engineer, phone: "+15550001111", timezone: Asia/Tokyo}
schedules:
  primary:
    timezone: America/New_York
    layers:
      - {rotation: weekly, start: "2026-01-05 09:00", participants: [dana, erik]}
  backup:
    timezone: UTC
    layers:
      - {rotation: daily, start: "2026-03-01 08:00", participants: [dana]}
policies:
  standard:
    repeat: 2
    levels:
      - {targets: [{schedule: primary}], ring_timeout: 20}
      - targets: [{engineer: dana}, {engineer: erik}]
        strategy: sequential
        ring_timeout: 30
  vip:
    repeat: 0
    levels:
      - {targets: [{schedule: backup}, {engineer: erik}], ring_timeout: 45}
default_policy: standard
products: {router: vip}
"""


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashboard.schedules.utcnow", lambda: NOW)


@pytest.fixture
def routing(session: Session, engineer_user: Any) -> None:
    """The configuration above, stored; Erik's Engineer row is matched by phone."""
    load_routing_text(session, ROUTING, "test.yaml", utcnow())
    session.commit()


def text_of(response: Any) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    html = response.data.decode()
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def feed_link(html: str, schedule: str) -> str:
    match = re.search(rf'value="([^"]*/dashboard/schedules/{schedule}\.ics\?token=[^"]+)"', html)
    assert match, f"no feed link for {schedule}"
    return unescape(match.group(1))


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/dashboard/on-call", "/dashboard/escalation", "/dashboard/outbox"]
)
def test_a_stranger_is_sent_to_sign_in(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


@pytest.mark.parametrize("url", ["/dashboard/escalation", "/dashboard/outbox"])
def test_an_engineer_cannot_open_manager_pages(as_engineer: Browser, url: str) -> None:
    assert as_engineer.get(url).status_code == 403


def test_engineer_navigation_shows_on_call_and_my_schedule_only(as_engineer: Browser) -> None:
    nav = as_engineer.get("/dashboard/on-call").data.decode().split("<nav>")[1].split("</nav>")[0]
    assert "On call" in nav and "My schedule" in nav
    assert "Escalation" not in nav and "Outbox" not in nav


def test_manager_navigation_has_the_new_pages(as_manager: Browser) -> None:
    nav = as_manager.get("/dashboard/on-call").data.decode().split("<nav>")[1].split("</nav>")[0]
    for label in ("On call", "Escalation", "Outbox"):
        assert label in nav
    # A manager with no engineer record has no shifts, so no "My schedule".
    assert "My schedule" not in nav


# --- empty state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/dashboard/on-call", "/dashboard/escalation", "/dashboard/my-schedule"]
)
def test_without_a_configuration_the_pages_say_how_to_load_one(
    as_manager: Browser, session: Session, url: str
) -> None:
    from models import Engineer
    from models.users import User

    # Link the manager to an engineer so My schedule gets as far as the configuration.
    engineer = Engineer(name="Maria", phone="+15550002222")
    session.add(engineer)
    session.flush()
    session.query(User).filter_by(username="maria").update({"engineer_id": engineer.id})
    session.commit()
    page = text_of(as_manager.get(url))
    assert "No on-call schedules loaded yet" in page
    assert "hotline routing load FILE.yaml" in page


def test_the_engineers_page_no_longer_says_not_available(as_manager: Browser) -> None:
    page = text_of(as_manager.get("/dashboard/engineers"))
    assert "not available yet" not in page
    assert "hotline routing load FILE.yaml" in page


# --- on call -----------------------------------------------------------------------------


def test_on_call_shows_now_next_and_handoff_in_utc_and_each_persons_zone(
    as_engineer: Browser, routing: None
) -> None:
    response = as_engineer.get("/dashboard/on-call")
    assert response.status_code == 200
    html = response.data.decode()
    primary = text_of(response).split("primary Schedule time zone")[1].split("Calendar feed")[0]
    # Erik is on call until Monday 16 March 09:00 New York time = 13:00 UTC = 22:00 in Tokyo.
    assert "On call now Erik Engineer +15550001111" in primary
    assert "until Mon 16 Mar 13:00 UTC · Mon 16 Mar 22:00 JST their time (Asia/Tokyo)" in primary
    assert "Handoff Mon 16 Mar 13:00 UTC · Mon 16 Mar 09:00 EDT schedule time" in primary
    assert "Dana Reyes from Mon 16 Mar 09:00 EDT their time (America/New_York)" in primary
    backup = text_of(response).split("backup Schedule time zone")[1].split("Calendar feed")[0]
    assert "Dana Reyes" in backup and "No change in the next 60 days" in backup
    assert "data-copy" in html and feed_link(html, "primary").startswith(
        "https://hotline.example.test/dashboard/schedules/"
    )


def test_the_engineers_page_summarises_who_is_on_call(as_manager: Browser, routing: None) -> None:
    page = text_of(as_manager.get("/dashboard/engineers"))
    assert "primary Erik Engineer Dana Reyes Mon 16 Mar 13:00 UTC" in page


# --- escalation --------------------------------------------------------------------------


def test_escalation_policies_in_words(as_manager: Browser, routing: None) -> None:
    page = text_of(as_manager.get("/dashboard/escalation"))
    assert "router vip" in page
    assert "any other product, or none chosen standard default" in page
    assert 'Level 1 Ring everyone on call for schedule "primary" at the same time for 20 s.' in page
    assert "Level 2 Ring Dana Reyes and Erik Engineer one at a time, 30 s each." in page
    assert "Repeats the levels 2 more times (3 rounds in all), then gives up." in page
    assert (
        'Level 1 Ring everyone on call for schedule "backup" and Erik Engineer at the same time '
        "for 45 s." in page
    )
    assert "Runs once through the levels, then gives up." in page


# --- my schedule -------------------------------------------------------------------------


def test_my_schedule_lists_my_shifts_in_my_time_zone(as_engineer: Browser, routing: None) -> None:
    response = as_engineer.get("/dashboard/my-schedule")
    page = text_of(response)
    shifts = page.split("Shifts in the next 14 days")[1].split("Add to your calendar")[0]
    # The current week (on call now) and the one after next, both in Tokyo time and UTC.
    assert (
        "primary on call now Mon 09 Mar 22:00 JST Mon 16 Mar 22:00 JST "
        "Mon 09 Mar 13:00 UTC Mon 16 Mar 13:00 UTC 7 days" in shifts
    )
    assert "primary Mon 23 Mar 22:00 JST Mon 30 Mar 22:00 JST" in shifts
    assert "Dana" not in shifts and "backup" not in shifts
    assert feed_link(response.data.decode(), "primary")


def test_my_schedule_for_an_engineer_outside_the_configuration(
    as_engineer: Browser, session: Session, engineer_user: Any
) -> None:
    load_routing_text(session, ROUTING.replace("+15550001111", "+15550009999"), "t.yaml", NOW)
    session.commit()
    page = text_of(as_engineer.get("/dashboard/my-schedule"))
    assert "You are not in the routing configuration" in page


# --- calendar feed -----------------------------------------------------------------------


def parse_ical(text: str) -> list[dict[str, str]]:
    """The VEVENTs of an iCalendar text as dicts (lines unfolded, parameters dropped)."""
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.replace("\r\n ", "").split("\r\n"):
        name, _, value = line.partition(":")
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            current[name.split(";")[0]] = value
    return events


def test_the_feed_link_on_the_page_serves_the_schedule(
    as_engineer: Browser, client: FlaskClient, routing: None
) -> None:
    link = feed_link(as_engineer.get("/dashboard/on-call").data.decode(), "primary")
    client.post("/dashboard/logout")  # a calendar app has no session
    parts = urlsplit(link)
    response = client.get(parts.path, query_string=parse_qs(parts.query))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    events = parse_ical(response.data.decode())
    starts = [(e["DTSTART"], e["SUMMARY"]) for e in events]
    # From a week back (the shift running then keeps its real start) to 60 days ahead.
    assert starts[0] == ("20260302T140000Z", "On call: Dana Reyes (primary)")
    assert starts[1] == ("20260309T130000Z", "On call: Erik Engineer (primary)")
    assert events[1]["DTEND"] == "20260316T130000Z"
    assert starts[-1] == ("20260504T130000Z", "On call: Erik Engineer (primary)")
    assert len(events) == 10
    uids = [e["UID"] for e in events]
    assert len(set(uids)) == len(uids) and all(u.endswith("@sev1-hotline") for u in uids)
    # Calendar apps poll: the same shift keeps the same UID on the next fetch.
    again = parse_ical(client.get(parts.path, query_string=parse_qs(parts.query)).data.decode())
    assert [e["UID"] for e in again] == uids


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"token": ""},
        {"token": "0" * 32},
        {"token": "backup"},
    ],
)
def test_a_feed_without_the_right_token_is_not_found(
    client: FlaskClient, routing: None, query: dict[str, str]
) -> None:
    response = client.get("/dashboard/schedules/primary.ics", query_string=query)
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.data


def test_one_schedules_token_does_not_open_another(
    as_engineer: Browser, client: FlaskClient, routing: None
) -> None:
    token = parse_qs(
        urlsplit(feed_link(as_engineer.get("/dashboard/on-call").data.decode(), "backup")).query
    )["token"][0]
    assert client.get(f"/dashboard/schedules/backup.ics?token={token}").status_code == 200
    assert client.get(f"/dashboard/schedules/primary.ics?token={token}").status_code == 404


def test_a_feed_for_an_unknown_schedule_is_not_found(app: Any, client: FlaskClient) -> None:
    from dashboard.feeds import feed_token

    with app.test_request_context():
        token = feed_token("ghost")
    assert client.get(f"/dashboard/schedules/ghost.ics?token={token}").status_code == 404
