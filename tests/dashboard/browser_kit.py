"""What the browser tests share: Chromium, a live server, screenshots and the axe-core check."""

from __future__ import annotations

import json
import os
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


# The Chromium of this test process while consecutive tests use it (see `shared_chromium`).
_running: dict[str, Any] = {}


def shared_chromium() -> Any:
    """This process's headless Chromium, launched by the first test that needs it.

    Tests that follow one another share it (each gets new contexts: no cookies, storage or
    cache carried over); tests/conftest.py closes it as soon as the next test does not need
    it, because Playwright's sync API marks its event loop as running on this thread while it
    is alive, and another test's asyncio.run() would refuse to start.
    """
    if "browser" not in _running:
        sync_api = pytest.importorskip("playwright.sync_api")
        _running["playwright"] = sync_api.sync_playwright().start()
        _running["browser"] = _running["playwright"].chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    return _running["browser"]


def close_shared_chromium() -> None:
    """Close the shared Chromium and its Playwright driver, if they run."""
    browser = _running.pop("browser", None)
    playwright = _running.pop("playwright", None)
    try:
        if browser is not None:
            browser.close()
    finally:
        if playwright is not None:
            playwright.stop()


def open_browser(
    browser: Any, base_url: str, viewport: dict[str, int], timeout_ms: int = 15_000
) -> Iterator[Any]:
    """A tab of a new context on `base_url` at `viewport`, touch-enabled on a phone's width."""
    phone = viewport["width"] < 600
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        timezone_id="Europe/Berlin",
    )
    tab = context.new_page()
    tab.set_default_timeout(timeout_ms)
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot as `name`.png when SCREENSHOTS=1 (for people to look at)."""
    # Opt-in: nothing checks the pictures, and taking them was a fifth of the browser tests.
    if os.environ.get("SCREENSHOTS") != "1":
        return
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def sign_in(page: Any, username: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")


def accessible(page: Any, name: str) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation; nothing scrolls sideways."""
    # The sideways check is on a phone's width; the screenshot only with SCREENSHOTS=1.
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
