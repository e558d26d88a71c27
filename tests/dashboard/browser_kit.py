"""What the browser tests share: Chromium, a live server, screenshots and the axe-core check."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.dashboard.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# axe-core's own bundle, vendored from npm (see vendor_assets.sh), never fetched at test time.
AXE = Path(__file__).with_name("assets") / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

browser_marks = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)",
    ),
]


def serve(app: Flask) -> Iterator[str]:
    """The app on a real HTTP server thread at 127.0.0.1, on a free port."""
    app.config["SESSION_COOKIE_SECURE"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def open_browser(base_url: str, viewport: dict[str, int]) -> Iterator[Any]:
    """A Chromium tab on `base_url` at `viewport`, touch-enabled on a phone's width."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        phone = viewport["width"] < 600
        context = browser.new_context(
            base_url=base_url,
            viewport=viewport,
            is_mobile=phone,
            has_touch=phone,
            timezone_id="Europe/Berlin",
        )
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")


def accessible(page: Any, name: str) -> None:
    """Run axe-core on the page (WCAG 2.1 A and AA): no serious or critical violations.

    Also saves a screenshot, and on a phone's width checks nothing scrolls sideways.
    """
    shot(page, name)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the test driver, so the page's Content-Security-Policy does not apply.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
            }));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {json.dumps(bad, indent=2)}"
    width = page.viewport_size["width"]
    if width < 600:
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name}: the page is {overflow} px wide at {width} px"
