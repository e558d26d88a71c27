"""Browser tests: headless Chromium drives the real pages served by a real HTTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, NotificationStatus
from routing.store import load_routing_text
from tests.dashboard.browser_kit import browser_marks, serve, shot
from tests.dashboard.conftest import PASSWORD
from tickets import events
from tickets.calls import record_ticket_event

pytestmark = browser_marks


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server thread at 127.0.0.1, on a free port."""
    yield from serve(app)


@pytest.fixture
def page(chromium: Any, live_server: str) -> Iterator[Any]:
    context = chromium.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    # A ceiling, not a pause: at a load average of 30 one sign-in (a scrypt hash, then
    # the ticket list) took Chromium and the server more than 10 s on the two cores.
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/dashboard/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_manager_searches_opens_a_ticket_and_changes_its_status(
    page: Any, manager: Any, many_tickets: list[Any]
) -> None:
    page.goto("/dashboard/login")
    shot(page, "01-login")
    sign_in(page, "maria")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    assert "61 tickets" in page.inner_text(".result-count")
    shot(page, "02-ticket-list")

    page.fill("input[name=q]", "service down")
    page.select_option("select[name=severity]", "1")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=service"))
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 1
    shot(page, "03-search")

    rows.first.locator("a").click()
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    for label in ("Call started", "PIN accepted", "Engineer rung", "Engineer accepted"):
        assert label in timeline
    assert "12345678" not in page.content()
    shot(page, "04-ticket")

    page.select_option("select[name=status]", "solved")
    page.click("text=Change status")
    page.wait_for_selector(".flash.ok")
    assert "is now solved" in page.inner_text(".flash.ok")
    assert "maria" in page.inner_text("#status-history")
    shot(page, "05-status-changed")


def test_manager_renews_a_pin_and_sees_it_once(
    page: Any, manager: Any, call_ticket: Any, session: Session
) -> None:
    account = session.scalars(select(Account)).one()
    sign_in(page, "maria")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    page.click("nav >> text=Accounts")
    page.click("text=Acme Corp")
    page.wait_for_url(re.compile(rf"/dashboard/accounts/{account.id}$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Renew standing PIN")
    page.wait_for_selector("#new-pin")
    digits = page.inner_text("#new-pin-value")
    assert re.fullmatch(r"\d{8}", digits)
    assert "active" in page.inner_text("#pins")
    shot(page, "06-new-pin")
    page.goto(f"/dashboard/accounts/{account.id}")
    assert digits not in page.content()
    page.goto("/dashboard/metrics")
    assert page.locator("svg.chart rect:not(.hit)").count() == 30
    shot(page, "07-metrics")


def test_an_engineer_cannot_reach_manager_pages(
    page: Any, engineer_user: Any, call_ticket: Any
) -> None:
    sign_in(page, "erik")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    assert page.locator("nav >> text=Accounts").count() == 0
    for url in ("/dashboard/accounts/", "/dashboard/metrics", "/dashboard/users"):
        response = page.goto(url)
        assert response.status == 403
    assert "Not allowed" in page.inner_text("main")
    shot(page, "08-engineer-forbidden")


def test_a_stranger_reaches_nothing_but_the_login_page(page: Any, call_ticket: Any) -> None:
    for url in (
        "/dashboard/tickets/",
        f"/dashboard/tickets/{call_ticket.id}",
        "/dashboard/accounts/",
        "/dashboard/metrics",
    ):
        page.goto(url)
        assert "/dashboard/login" in page.url
        assert page.locator("input[name=password]").count() == 1
    assert "Severity 1 from Acme" not in page.content()


def test_manager_reads_on_call_escalation_and_the_outbox(
    page: Any,
    manager: Any,
    engineer_user: Any,
    call_ticket: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.dashboard.test_outbox import add_note
    from tests.dashboard.test_schedules import NOW, ROUTING

    monkeypatch.setattr("dashboard.schedules.utcnow", lambda: NOW)
    load_routing_text(session, ROUTING, "test.yaml", NOW)
    add_note(
        session,
        5,
        ticket_id=call_ticket.id,
        kind="nobody_accepted",
        recipient="role:managers",
        status=NotificationStatus.DEAD,
        attempts=5,
        last_error="TwilioError: 21211 invalid 'To' number",
        body="Sev-1 hotline ALERT: nobody accepted severity-1 call HL-000001 from Acme Corp.",
    )
    add_note(session, 6, status=NotificationStatus.PENDING, body=None)
    dead = events.NotificationDead(
        notification_id=5,
        notification_kind="nobody_accepted",
        channel="sms",
        recipient="role:managers",
        attempts=5,
        error="TwilioError: 21211 invalid 'To' number",
    )
    record_ticket_event(
        session, call_ticket.id, dead, call_ticket.created_at + timedelta(seconds=400)
    )
    session.commit()

    sign_in(page, "maria")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    page.click("nav >> text=On call")
    primary = page.locator("#schedule-primary")
    assert "Erik Engineer" in primary.locator(".oncall-now").inner_text()
    assert "JST their time" in primary.inner_text()
    primary.locator("text=Make a calendar link for primary").click()
    new_link = page.locator("div.newpin[role=alert]")
    assert "/dashboard/feeds/hlc_" in new_link.locator("input").input_value()
    assert "schedule primary" in page.inner_text("#calendar-links")
    # The copy button works through copy.js: under load the button can be on screen before
    # the script has run, and a click then would do nothing. The page's load event says it ran.
    page.wait_for_load_state("load")
    new_link.locator("button[data-copy]").click()
    copy_button = new_link.locator("button[data-copy]")
    copy_button.page.wait_for_function(
        "el => el.textContent === 'Copied'", arg=copy_button.element_handle()
    )
    shot(page, "09-on-call")

    # A click returns once the next page starts loading: wait for it before counting on it.
    page.click("nav >> text=Escalation")
    page.wait_for_url(re.compile(r"/dashboard/escalation$"))
    assert page.locator("#policy-standard ol.levels li").count() == 2
    shot(page, "10-escalation")

    page.click("nav >> text=Outbox")
    page.wait_for_url(re.compile(r"/dashboard/outbox$"))
    assert page.locator("tbody.note-dead").count() == 1
    assert "preview · not sent yet" in page.inner_text("#outbox")
    shot(page, "11-outbox")
    page.click("#status-filter >> text=Dead")
    page.wait_for_url(re.compile(r"status=dead"))
    assert page.locator("#outbox tbody.note").count() == 1

    page.locator("#outbox a.mono").first.click()
    page.wait_for_selector("#timeline")
    dead = page.locator("li[data-kind=notification_dead]")
    assert "Notification never delivered" in dead.inner_text()
    page.click("#notifications details.msg-text summary >> nth=0")
    shot(page, "12-ticket-notifications")


def test_engineer_sees_on_call_and_their_own_schedule(
    page: Any,
    manager: Any,
    engineer_user: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.dashboard.test_schedules import NOW, ROUTING

    monkeypatch.setattr("dashboard.schedules.utcnow", lambda: NOW)
    load_routing_text(session, ROUTING, "test.yaml", NOW)
    session.commit()
    sign_in(page, "erik")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    assert page.locator("nav >> text=Outbox").count() == 0
    page.click("nav >> text=My schedule")
    rows = page.locator("#shifts tbody tr")
    assert rows.count() == 2
    assert "on call now" in rows.first.inner_text()
    page.click("#calendar >> text=Make a calendar link")
    link = page.locator("#calendar div.newpin input").input_value()
    assert "/dashboard/feeds/hlc_" in link
    assert page.locator("#calendar tbody tr[data-feed]").count() == 1
    shot(page, "13-my-schedule")
    page.click("#calendar tr[data-feed] button:has-text('Revoke')")
    page.wait_for_selector("text=Calendar link revoked")
    assert page.locator("#calendar tbody tr[data-feed]").count() == 0
    assert page.goto("/dashboard/outbox").status == 403
