"""The dashboard as its users live in it, in Chromium at 1366 px and at a phone's 390 px.

Every page visited passes an axe-core check (WCAG 2.1 AA: no serious or critical violations)
and is saved as a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, Engineer, SupportPin, TicketStatus
from models.users import User, UserRole
from tests.dashboard.browser_kit import (
    DESKTOP,
    PHONE,
    accessible,
    browser_marks,
    open_browser,
    serve,
    sign_in,
)

pytestmark = browser_marks
SIZES = [pytest.param(DESKTOP, id="1366"), pytest.param(PHONE, id="390")]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    yield from serve(app)


@pytest.fixture(params=SIZES)
def tab(request: pytest.FixtureRequest, chromium: Any, live_server: str) -> Iterator[Any]:
    yield from open_browser(chromium, live_server, request.param)


@pytest.fixture
def phone(chromium: Any, live_server: str) -> Iterator[Any]:
    yield from open_browser(chromium, live_server, PHONE)


def size_of(page: Any) -> str:
    return str(page.viewport_size["width"])


def open_menu(page: Any) -> None:
    """On a phone the navigation is behind the Menu button."""
    toggle = page.locator("#menu-toggle")
    if toggle.is_visible():
        toggle.click()


def test_the_managers_monday_review(tab: Any, manager: Any, many_tickets: Any) -> None:
    w = size_of(tab)
    tab.goto("/dashboard/login")
    accessible(tab, f"review-{w}-01-sign-in")
    sign_in(tab, "maria")
    tab.wait_for_url(re.compile(r"/dashboard/tickets/"))
    assert "Europe/Berlin" in tab.inner_text("#viewer-zone")
    accessible(tab, f"review-{w}-02-tickets")

    tab.select_option("select[name=sort]", "severity")
    tab.click("form.filters button[type=submit]")
    tab.wait_for_url(re.compile(r"sort=severity"))
    first = tab.locator("table.tickets tbody tr").first
    assert "S1" in first.inner_text()
    accessible(tab, f"review-{w}-03-severity-first")

    open_menu(tab)
    tab.click("nav >> text=Metrics")
    tab.wait_for_url(re.compile(r"/dashboard/metrics"))
    # The skip link is the first Tab stop, and takes the keyboard past the navigation.
    tab.reload()
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "main"
    accessible(tab, f"review-{w}-04-metrics")
    bar = tab.locator("svg.chart a").first
    assert bar.count() == 1, "every chart bar links to its tickets"
    bar.click()
    tab.wait_for_url(re.compile(r"/dashboard/tickets/\?.*from="))
    accessible(tab, f"review-{w}-05-tickets-of-a-day")

    tab.goto("/dashboard/reports/severity-1")
    assert "Severity-1 report" in tab.inner_text("h1")
    accessible(tab, f"review-{w}-06-report")

    tab.goto("/dashboard/tickets/?q=service+down")
    tab.locator("table.tickets tbody tr a").first.click()
    tab.wait_for_selector("#timeline")
    timeline = tab.inner_text("#timeline")
    assert "ringing, round 1" in timeline.lower() and "connected" in timeline.lower()
    assert re.search(r"\d\d:\d\d:\d\d", timeline) and "CET" in tab.inner_text("#timeline")
    accessible(tab, f"review-{w}-07-ticket")
    tab.locator("#timeline details.raw summary").first.click()
    accessible(tab, f"review-{w}-08-ticket-raw-values")

    for url, name in (
        ("/dashboard/accounts/", "09-accounts"),
        ("/dashboard/users", "10-users"),
        ("/dashboard/audit", "11-audit"),
        ("/dashboard/outbox", "12-outbox"),
        ("/dashboard/on-call", "13-on-call"),
        ("/dashboard/profile", "14-profile"),
        ("/dashboard/no-such-page", "15-not-found"),
    ):
        tab.goto(url)
        accessible(tab, f"review-{w}-{name}")
    tab.goto("/dashboard/profile")
    tab.click("#api-docs-link")
    tab.wait_for_selector("#swagger-ui .opblock")
    assert "/tickets" in tab.inner_text("#swagger-ui")
    accessible(tab, f"review-{w}-16-api-docs")


def test_the_engineer_at_3am_on_a_phone(
    phone: Any, app: Flask, engineer_user: Any, call_ticket: Any, session: Session
) -> None:
    # The SMS carries the ticket's address; a signed-out phone goes through sign-in to it.
    phone.goto(f"/dashboard/tickets/{call_ticket.id}")
    phone.wait_for_url(re.compile(r"/dashboard/login"))
    accessible(phone, "phone-01-sign-in")
    sign_in(phone, "erik")
    phone.wait_for_url(re.compile(rf"/dashboard/tickets/{call_ticket.id}$"))
    accessible(phone, "phone-02-ticket")

    # Caller, state, actions and note box are on the first screen.
    screen = phone.viewport_size["height"]
    for selector in ("#call-caller", "#ticket-actions", "#note-body"):
        box = phone.locator(selector).bounding_box()
        assert box is not None and box["y"] + box["height"] <= screen * 1.6, selector
    call = phone.locator("#call-caller")
    assert call.get_attribute("href") == "tel:+15551234567"
    assert "Call back the number that called the hotline" in call.inner_text()
    summary = phone.inner_text("#account-summary")
    assert "carol@acme.test" in summary and "Router" in summary and "entitled" in summary
    assert phone.locator("text=Renew standing PIN").count() == 0

    # Tap to call: the phone's dialer gets the number (the browser is told to open tel:).
    phone.evaluate(
        "document.getElementById('call-caller').addEventListener('click', e => {"
        " window.lastDial = e.currentTarget.href; e.preventDefault(); })"
    )
    call.tap()
    assert phone.evaluate("window.lastDial") == "tel:+15551234567"

    phone.fill("#note-body", "Rebooted the core router; customer confirms traffic flows.")
    phone.click("#quick-note button[type=submit]")
    phone.wait_for_selector(".flash.ok")
    assert "Rebooted the core router" in phone.inner_text("#conversation")
    accessible(phone, "phone-03-note-added")

    phone.click("#ticket-actions >> text=Solve")
    phone.wait_for_selector(".flash.ok")
    assert "solved" in phone.inner_text("#state-line")
    accessible(phone, "phone-04-solved")
    session.expire_all()
    session.refresh(call_ticket)
    assert call_ticket.status is TicketStatus.SOLVED


def test_admin_actions_ask_first_and_never_repeat(
    tab: Any, manager: Any, engineer_user: Any, call_ticket: Any, session: Session
) -> None:
    w = size_of(tab)
    account = session.scalars(select(Account)).one()
    pins_before = len(session.scalars(select(SupportPin)).all())
    tab.goto("/dashboard/login")
    sign_in(tab, "maria")
    tab.wait_for_url(re.compile(r"/dashboard/tickets/"))
    tab.goto(f"/dashboard/accounts/{account.id}")

    # Cancel: nothing is issued.
    tab.once("dialog", lambda dialog: dialog.dismiss())
    tab.click("text=Renew standing PIN")
    tab.wait_for_timeout(300)
    assert tab.locator("#new-pin").count() == 0
    session.expire_all()
    assert len(session.scalars(select(SupportPin)).all()) == pins_before

    # OK: the new PIN is shown once.
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    tab.once("dialog", accept)
    tab.click("text=Renew standing PIN")
    tab.wait_for_selector("#new-pin")
    assert "stops working at once" in asked[0]
    digits = tab.inner_text("#new-pin-value")
    accessible(tab, f"admin-{w}-01-new-pin")

    # Reload re-posts the form: no second PIN, and the digits are not shown again.
    tab.reload()
    tab.wait_for_selector(".flash.ok")
    assert "reloading does not issue another" in tab.inner_text(".flash.ok")
    assert digits not in tab.content()
    session.expire_all()
    assert len(session.scalars(select(SupportPin)).all()) == pins_before + 1
    accessible(tab, f"admin-{w}-02-after-reload")

    tab.once("dialog", lambda dialog: dialog.accept())
    tab.click("text=Clear standing PIN")
    tab.wait_for_selector("text=Standing PIN cleared")
    accessible(tab, f"admin-{w}-03-cleared")

    # A user is edited: linked to another engineer record and made a manager.
    other = Engineer(name="Olga Other", phone="+15550002222")
    session.add(other)
    session.commit()
    tab.goto("/dashboard/users")
    row = tab.locator('tr[data-user="erik"]')
    row.locator("select[name=engineer_id]").select_option(str(other.id))
    row.locator("text=Save").click()
    tab.wait_for_selector("text=erik updated")
    accessible(tab, f"admin-{w}-04-user-edited")

    # Deactivation asks first; Cancel keeps the user, OK ends their access.
    tab.once("dialog", lambda dialog: dialog.dismiss())
    tab.locator('tr[data-user="erik"] >> text=Deactivate').click()
    tab.wait_for_timeout(300)
    session.expire_all()
    erik = session.scalar(select(User).where(User.username == "erik"))
    assert erik is not None and erik.active and erik.engineer_id == other.id
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.locator('tr[data-user="erik"] >> text=Deactivate').click()
    tab.wait_for_selector("text=erik deactivated")
    tab.reload()
    assert "erik deactivated" not in tab.inner_text("main")
    accessible(tab, f"admin-{w}-05-user-deactivated")
    session.expire_all()
    erik = session.scalar(select(User).where(User.username == "erik"))
    assert erik is not None and not erik.active and erik.role is UserRole.ENGINEER

    # Licence quantity has an upper bound with a clear message.
    tab.goto(f"/dashboard/accounts/{account.id}")
    tab.evaluate("document.querySelector('input[name=quantity]').removeAttribute('max')")
    tab.fill("input[name=quantity]", "99999999999")
    tab.click("text=Issue licences")
    tab.wait_for_selector(".flash.error")
    assert "at most 100,000" in tab.inner_text(".flash.error")
    accessible(tab, f"admin-{w}-06-licence-bound")
