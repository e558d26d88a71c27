"""The portal in a real browser: headless Chromium on a real HTTP server, with a staff user
replying from the dashboard in a second browser. Screenshots at desktop and phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from models import Engineer, Ticket, TicketMessage
from models.users import UserRole
from tests.dashboard.browser_kit import DESKTOP, PHONE, browser_marks, serve, shot
from tests.dashboard.conftest import PASSWORD
from tests.portal.conftest import Customer, last_link

pytestmark = browser_marks


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server thread at 127.0.0.1, on a free port."""
    yield from serve(app)


@pytest.fixture
def browser(chromium: Any) -> Any:
    """The shared Chromium (tests/conftest.py closes the contexts a test opened)."""
    return chromium


def new_page(browser: Any, live_server: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(base_url=live_server, viewport=viewport)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    return tab


def sign_in_by_link(page: Any, session: Session, email: str) -> None:
    page.goto("/portal/sign-in")
    page.fill("#email", email)
    page.click("text=Email me a sign-in link")
    page.wait_for_selector("#sent")
    page.goto(last_link(session, email))
    page.click("#continue")
    page.wait_for_url(re.compile(r"/portal/pin$"))


@pytest.fixture
def staff(session: Session) -> None:
    engineer = Engineer(name="Erik Engineer", phone="+15550001111", email="erik@vendor.test")
    session.add(engineer)
    session.flush()
    create_user(session, "erik", "Erik Engineer", PASSWORD, UserRole.MANAGER, engineer.id)
    session.commit()


DROP_TWO_FILES = """() => {
  const all = new DataTransfer();
  const log = "2026-03-02 installer: timeout\\n";
  all.items.add(new File([log], "installer.log", {type: "text/plain"}));
  all.items.add(new File(["%PDF-1.4 screenshot"], "screen.pdf", {type: "application/pdf"}));
  const zone = document.getElementById("dropzone");
  const how = {dataTransfer: all, bubbles: true, cancelable: true};
  zone.dispatchEvent(new DragEvent("dragover", how));
  zone.dispatchEvent(new DragEvent("drop", how));
}"""


def test_contact_walks_the_portal_and_talks_to_staff(
    browser: Any, live_server: str, session: Session, acme: Customer, staff: None
) -> None:
    page = new_page(browser, live_server, DESKTOP)
    page.goto("/portal/tickets")
    assert "Sign in to the support portal" in page.content()
    shot(page, "portal/01-sign-in")
    sign_in_by_link(page, session, acme.email)
    assert "Acme Corp is entitled to support" in page.inner_text("#entitlement")
    assert page.locator("#pin-standing").is_hidden()
    shot(page, "portal/02-pin-page")

    # Show, hide, copy.
    page.click("#standing button.show-pin")
    page.wait_for_selector("#pin-standing:not([hidden])")
    old_pin = page.inner_text("#pin-standing")
    assert re.fullmatch(r"\d{8}", old_pin)
    shot(page, "portal/03-pin-shown")
    page.click("#standing button.show-pin")
    page.wait_for_selector("#pin-standing", state="hidden")
    page.click("#standing button.copy-pin")
    page.wait_for_selector("#copied-standing:has-text('copied')")
    assert page.evaluate("navigator.clipboard.readText()") == old_pin

    # Renew: a new PIN at once.
    page.click("text=Renew (the old PIN stops working)")
    page.wait_for_selector("#message")
    new_pin = page.inner_text("#pin-standing")
    assert re.fullmatch(r"\d{8}", new_pin) and new_pin != old_pin

    # One-time PIN: generate, copy, clear.
    page.click("text=Generate a one-time PIN")
    page.wait_for_selector("#pin-one_time:not([hidden])")
    one_time = page.inner_text("#pin-one_time")
    page.click("#one-time button.copy-pin")
    page.wait_for_selector("#copied-one_time:has-text('copied')")
    assert page.evaluate("navigator.clipboard.readText()") == one_time
    page.click("#one-time button.danger")
    assert "One-time PIN cleared" in page.inner_text("#message")

    # Privileged PIN: "p" + digits, what it grants, when it expires.
    page.click("text=Generate a privileged PIN")
    page.wait_for_selector("#pin-privileged:not([hidden])")
    assert page.inner_text("#pin-privileged").startswith("p")
    assert "24 hours" in page.inner_text("#privileged-grants")
    assert "Expires" in page.inner_text("#privileged-expiry")
    shot(page, "portal/04-privileged-pin")

    # Clear the standing PIN.
    page.click("#standing button.danger")
    assert "Support PIN cleared" in page.inner_text("#message")
    page.click("text=Get a support PIN")
    page.wait_for_selector("#message")

    # Add a ticket: severity 1 gives way to the phone; two files dropped on the zone.
    page.click("nav >> text=Add new ticket")
    page.check("input[name=severity][value='1']")
    page.wait_for_selector("#severity-one:not([hidden])")
    assert page.locator("#ticket-form").is_hidden()
    shot(page, "portal/05-severity-one")
    page.click("text=It is not a complete loss of service")
    page.wait_for_selector("#ticket-form:not([hidden])")
    page.check("input[name=severity][value='2']")
    page.select_option("#category", "installation")
    page.fill("#subject", "Installer stops at 80%")
    page.fill("#description", "Since this morning the installer hangs on step 4.")
    page.evaluate(DROP_TWO_FILES)
    assert page.inner_text("#chosen-files").count("KB") == 2
    shot(page, "portal/06-new-ticket")
    page.click("text=Open ticket")
    page.wait_for_selector("#created")
    ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
    assert ticket is not None and ticket.number in page.inner_text("#created")
    assert "installer.log" in page.content() and "screen.pdf" in page.content()
    shot(page, "portal/07-ticket-created")

    # My tickets: listed, filtered by category and status.
    page.click("nav >> text=My tickets")
    assert ticket.number in page.inner_text("#tickets")
    page.select_option("select[name=category]", "installation")
    page.select_option("select[name=status]", "pending")
    page.click("text=Apply")
    page.wait_for_url(re.compile(r"status=pending"))
    assert ticket.number in page.inner_text("#tickets")
    page.select_option("select[name=status]", "solved")
    page.click("text=Apply")
    page.wait_for_url(re.compile(r"status=solved"))
    assert page.locator("#no-tickets").is_visible()
    shot(page, "portal/08-my-tickets-filtered")

    # Staff reply from the dashboard (a public reply, not a note).
    desk = new_page(browser, live_server, DESKTOP)
    desk.goto("/dashboard/login")
    desk.fill("input[name=username]", "erik")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("button[type=submit]")
    desk.wait_for_url(re.compile(r"/dashboard/"))
    desk.goto(f"/dashboard/tickets/{ticket.id}")
    desk.fill("#public-reply textarea[name=body]", "Please send the full installer log.")
    desk.click("text=Send public reply")
    desk.wait_for_selector("#customer-conversation li[data-message]")
    shot(desk, "09-dashboard-public-reply")

    # The customer sees it, quotes it and answers.
    page.goto(f"/portal/tickets/{ticket.id}")
    assert "Please send the full installer log." in page.inner_text("#conversation")
    page.click("#conversation button.quote")
    assert "> Please send the full installer log." in page.input_value("#body")
    page.fill("#body", page.input_value("#body") + "Here it is.")
    page.click("#reply-form >> text=Send")
    page.wait_for_selector("#latest")
    assert "Here it is." in page.inner_text("#latest")
    messages = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert [m.author_kind.value for m in messages] == ["staff", "customer"]

    # Staff solve it; the customer sees it solved.
    desk.goto(f"/dashboard/tickets/{ticket.id}")
    assert "Here it is." in desk.inner_text("#customer-conversation")
    desk.click("#ticket-actions >> text=Solve")
    desk.wait_for_load_state()
    page.goto(f"/portal/tickets/{ticket.id}")
    assert "Solved" in page.inner_text("#ticket-status")
    shot(page, "portal/10-ticket-solved")

    # The same pages at phone width.
    phone = new_page(browser, live_server, PHONE)
    sign_in_by_link(phone, session, acme.email)
    shot(phone, "11-phone-pin-page")
    phone.goto("/portal/tickets/new")
    shot(phone, "12-phone-new-ticket")
    phone.goto(f"/portal/tickets/{ticket.id}")
    shot(phone, "13-phone-conversation")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
