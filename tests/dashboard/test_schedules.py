"""On-call, escalation and my-schedule pages, and the token-protected calendar feeds."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

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


def feed_link(html: str) -> str:
    """The new calendar link a page shows once."""
    match = re.search(r'value="([^"]*/dashboard/feeds/[^"]+\.ics)"', html)
    assert match, "no calendar link on the page"
    return unescape(match.group(1))


def schedule_feed(browser: Browser, schedule: str) -> str:
    """A manager makes a calendar link for `schedule`; the path it shows."""
    response = browser.post("/dashboard/on-call/feeds", data={"schedule": schedule})
    assert response.status_code == 200
    return urlsplit(feed_link(response.data.decode())).path


def my_feed(browser: Browser) -> str:
    """An engineer makes a calendar link for their own shifts; the path it shows."""
    response = browser.post("/dashboard/my-schedule/feeds")
    assert response.status_code == 200
    return urlsplit(feed_link(response.data.decode())).path


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
    nav = (
        as_engineer.get("/dashboard/on-call")
        .data.decode()
        .split('<nav id="site-nav" aria-label="Main">')[1]
        .split("</nav>")[0]
    )
    assert "On call" in nav and "My schedule" in nav
    assert "Escalation" not in nav and "Outbox" not in nav


def test_manager_navigation_has_the_new_pages(as_manager: Browser) -> None:
    nav = (
        as_manager.get("/dashboard/on-call")
        .data.decode()
        .split('<nav id="site-nav" aria-label="Main">')[1]
        .split("</nav>")[0]
    )
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
    backup = text_of(response).split("backup Schedule time zone")[1]
    assert "Dana Reyes" in backup and "No change in the next 60 days" in backup
    # Engineers make their own calendar link on My schedule, not one for a whole schedule.
    assert "/dashboard/on-call/feeds" not in html and "My schedule" in text_of(response)


def test_a_manager_makes_a_schedule_link_shown_once(as_manager: Browser, routing: None) -> None:
    response = as_manager.post("/dashboard/on-call/feeds", data={"schedule": "primary"})
    html = response.data.decode()
    assert "data-copy" in html and feed_link(html).startswith(
        "https://hotline.example.test/dashboard/feeds/hlc_"
    )
    again = as_manager.get("/dashboard/on-call").data.decode()
    assert "/dashboard/feeds/hlc_" not in again  # the secret is not shown again
    assert "schedule primary maria" in text_of(as_manager.get("/dashboard/on-call"))


def test_an_engineer_cannot_make_a_schedule_link(as_engineer: Browser, routing: None) -> None:
    response = as_engineer.post("/dashboard/on-call/feeds", data={"schedule": "primary"})
    assert response.status_code == 403
    assert "This page is for managers." in text_of(response)


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
    assert "No calendar links yet" in page


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


def test_a_schedule_link_serves_the_schedule(
    as_manager: Browser, client: FlaskClient, routing: None
) -> None:
    path = schedule_feed(as_manager, "primary")
    client.post("/dashboard/logout")  # a calendar app has no session
    response = client.get(path)
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
    again = parse_ical(client.get(path).data.decode())
    assert [e["UID"] for e in again] == uids


def test_an_engineers_link_serves_only_their_shifts_in_every_schedule(
    as_engineer: Browser, client: FlaskClient, routing: None
) -> None:
    path = my_feed(as_engineer)
    client.post("/dashboard/logout")
    events = parse_ical(client.get(path).data.decode())
    # Erik is on "primary" every other week and never on "backup".
    assert [(e["DTSTART"], e["SUMMARY"]) for e in events][:2] == [
        ("20260309T130000Z", "On call: primary"),
        ("20260323T130000Z", "On call: primary"),
    ]
    assert len(events) == 5


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/feeds/.ics",
        "/dashboard/feeds/hlc_" + "0" * 43 + ".ics",
        "/dashboard/feeds/primary.ics",
        # The old unrevocable per-schedule links are retired.
        "/dashboard/schedules/primary.ics?token=" + "0" * 32,
    ],
)
def test_a_feed_without_the_right_token_is_not_found(
    client: FlaskClient, routing: None, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.data


def test_a_revoked_link_stops_at_once(
    as_manager: Browser, client: FlaskClient, session: Session, routing: None
) -> None:
    from models.users import CalendarFeed

    path = schedule_feed(as_manager, "backup")
    assert client.get(path).status_code == 200
    feed_id = session.query(CalendarFeed).one().id
    revoked = as_manager.post(f"/dashboard/feeds/{feed_id}/revoke", data={"back": "on_call"})
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/on-call")
    assert client.get(path).status_code == 404
    assert "No calendar links." in text_of(as_manager.get("/dashboard/on-call"))


def test_an_engineer_revokes_their_own_link_but_not_a_managers(
    as_engineer: Browser, client: FlaskClient, session: Session, manager: Any, routing: None
) -> None:
    from dashboard.feeds import create_schedule_feed
    from models.users import CalendarFeed

    theirs = create_schedule_feed(session, manager, "primary")
    session.commit()
    path = my_feed(as_engineer)
    mine = session.query(CalendarFeed).filter(CalendarFeed.engineer_id.is_not(None)).one()
    assert as_engineer.post(f"/dashboard/feeds/{theirs.feed.id}/revoke").status_code == 404
    assert client.get(f"/dashboard/feeds/{theirs.secret}.ics").status_code == 200
    assert as_engineer.post(f"/dashboard/feeds/{mine.id}/revoke").status_code == 302
    assert client.get(path).status_code == 404


def test_deactivating_the_user_kills_their_link_for_good(
    as_manager: Browser, session: Session, engineer_user: Any, routing: None, app: Any
) -> None:
    from dashboard.feeds import create_engineer_feed

    made = create_engineer_feed(session, engineer_user)
    session.commit()
    other = app.test_client()
    url = f"/dashboard/feeds/{made.secret}.ics"
    assert other.get(url).status_code == 200
    as_manager.post(f"/dashboard/users/{engineer_user.id}/active", data={"active": "0"})
    assert other.get(url).status_code == 404
    # Reactivating the user does not bring the old link back.
    as_manager.post(f"/dashboard/users/{engineer_user.id}/active", data={"active": "1"})
    assert other.get(url).status_code == 404


def test_an_inactive_engineer_has_no_live_link(
    client: FlaskClient, session: Session, engineer_user: Any, routing: None
) -> None:
    from dashboard.feeds import create_engineer_feed

    made = create_engineer_feed(session, engineer_user)
    session.commit()
    url = f"/dashboard/feeds/{made.secret}.ics"
    assert client.get(url).status_code == 200
    engineer_user.engineer.active = False
    session.commit()
    assert client.get(url).status_code == 404


def test_feed_secrets_are_stored_only_hashed(
    as_manager: Browser, session: Session, routing: None
) -> None:
    from models.users import CalendarFeed

    secret = schedule_feed(as_manager, "primary").rsplit("/", 1)[1].removesuffix(".ics")
    stored = session.query(CalendarFeed).one()
    assert secret not in (stored.token_hash, stored.prefix) and len(stored.prefix) == 12
