"""NOTIFY_* settings are part of the app's Settings: create_app(test_config) sets them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from hotline import create_app
from kernel.config import ConfigError, NotifySettings, SmsBackend, load_settings, settings_of
from models import NotificationStatus, TicketOutcome, utcnow
from notify import triggers
from simulator import Simulator
from simulator.openapi import ApiError
from tests.notify.conftest import drain, make_call, notifications


def test_create_app_takes_notify_settings_from_its_config(app_config: dict[str, Any]) -> None:
    app = create_app(
        {
            **app_config,
            "NOTIFY_MAX_ATTEMPTS": "7",
            "NOTIFY_RETRY_BASE_SECONDS": "0.5",
            "NOTIFY_JOB_TIMEOUT": "9",
            "NOTIFY_SMS_BACKEND": "Console",
            "NOTIFY_EMAIL_FROM": "support@example.test",
            "NOTIFY_HEARTBEAT_SECONDS": "0.5",
        }
    )
    try:
        notify = settings_of(app).notify
        assert notify.max_attempts == 7 and notify.job_timeout == 9
        assert notify.retry_delay(3) == 2.0
        assert notify.sms_backend is SmsBackend.CONSOLE
        assert notify.email_from == "support@example.test"
        # Four missed beats and a worker's claims are freed.
        assert notify.heartbeat_stale_seconds == 2.0
    finally:
        app.extensions["dialer"].close()
        app.extensions["engine"].dispose()
        app.extensions["redis"].close()


def test_defaults_suit_production(app_config: dict[str, Any]) -> None:
    assert load_settings(app_config).notify == NotifySettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NOTIFY_MAX_ATTEMPTS", "three"),
        ("NOTIFY_MAX_ATTEMPTS", "0"),
        ("NOTIFY_RETRY_BASE_SECONDS", "nan"),
        ("NOTIFY_HTTP_TIMEOUT", "-1"),
        ("NOTIFY_HEARTBEAT_SECONDS", "0"),
        ("NOTIFY_SMS_BACKEND", "carrier-pigeon"),
    ],
)
def test_a_bad_notify_setting_is_named(app_config: dict[str, Any], name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        create_app({**app_config, name: value})


@pytest.mark.parametrize("notify_overrides", [{"NOTIFY_MAX_ATTEMPTS": "1"}])
def test_max_attempts_from_the_app_config_decides_when_a_message_is_dead(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    # One attempt allowed: a single Twilio 5xx makes the message dead, with no retry.
    sim.message_errors = [ApiError(500, 20500, "Internal Server Error")]
    call = make_call(session, TicketOutcome.MESSAGE, email=None)
    triggers.call_ended(session, call, utcnow())
    session.commit()
    drain(notify_app)
    (row,) = notifications(session)
    assert row.status == NotificationStatus.DEAD and row.attempts == 1
    assert sim.messages == []
