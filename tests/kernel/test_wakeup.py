"""The relay's wake-up: it sleeps until the database has news, and not past its deadline."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from flask import Flask

from kernel.config import settings_of
from kernel.wakeup import waker_for
from models import NotificationChannel
from notify.outbox import add_notification


def _write_a_notification(app: Flask, after: float) -> threading.Thread:
    def write() -> None:
        time.sleep(after)
        with app.extensions["sessionmaker"]() as session:
            add_notification(
                session,
                kind="pin_failure_burst",
                channel=NotificationChannel.SMS,
                recipient="+15005550123",
                payload={"failures": 31, "callers": 2, "window_minutes": 10},
                now=datetime.now(UTC),
                dedupe_key=f"wake-{time.monotonic()}",
            )
            session.commit()

    writer = threading.Thread(target=write)
    writer.start()
    return writer


def test_a_committed_notification_wakes_the_sleeper_at_once(app: Flask) -> None:
    waker = waker_for(settings_of(app).database_url, 0.05)
    try:
        waker.wait(0.0)  # listening (PostgreSQL) and at the current version (SQLite)
        writer = _write_a_notification(app, after=0.3)
        started = time.monotonic()
        woken = waker.wait(30.0)
        waited = time.monotonic() - started
        writer.join()
    finally:
        waker.close()
    assert woken
    # Woken by the write, long before the 30 s deadline (generous for a loaded machine).
    assert waited < 10.0


def test_with_no_news_the_sleeper_returns_at_its_deadline(app: Flask) -> None:
    waker = waker_for(settings_of(app).database_url, 0.05)
    try:
        waker.wait(0.0)
        started = time.monotonic()
        woken = waker.wait(0.5)
        waited = time.monotonic() - started
    finally:
        waker.close()
    assert not woken
    assert 0.45 <= waited < 10.0
