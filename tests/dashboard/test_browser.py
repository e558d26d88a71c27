"""Browser tests: headless Chromium drives the real pages served by a real HTTP server."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from models import Account
from tests.dashboard.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)",
    ),
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server thread at 127.0.0.1, on a free port."""
    # Plain http on 127.0.0.1 in tests: a Secure cookie would not come back.
    app.config["SESSION_COOKIE_SECURE"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        yield tab
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


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

    page.fill("input[name=q]", "outage")
    page.select_option("select[name=severity]", "1")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=outage"))
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 1
    shot(page, "03-search")

    rows.first.locator("a").click()
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    for label in ("Call started", "PIN accepted", "Engineer rung", "Caller connected"):
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
    pytest.importorskip("entitlement")
    account = session.scalars(select(Account)).one()
    sign_in(page, "maria")
    page.wait_for_url(re.compile(r"/dashboard/tickets/"))
    page.click("nav >> text=Accounts")
    page.click("text=Acme Corp")
    page.wait_for_url(re.compile(rf"/dashboard/accounts/{account.id}$"))
    page.click("text=Renew standing PIN")
    page.wait_for_selector("#new-pin")
    digits = page.inner_text("#new-pin-value")
    assert re.fullmatch(r"\d{8}", digits)
    assert "active" in page.inner_text("#pins")
    shot(page, "06-new-pin")
    page.goto(f"/dashboard/accounts/{account.id}")
    assert digits not in page.content()
    page.goto("/dashboard/metrics")
    assert page.locator("svg.chart rect").count() == 30
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
    assert "Forbidden" in page.inner_text("main")
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
    assert "Complete outage" not in page.content()
