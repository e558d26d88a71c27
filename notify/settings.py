"""Tuning knobs of the notification pipeline, read from NOTIFY_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class NotifySettings:
    """Retry, relay and sender settings; the defaults suit production."""

    # 5 attempts, waits of 2, 4, 8 and 16 minutes between them: about 30 minutes in all.
    max_attempts: int = 5
    retry_base_seconds: float = 120.0
    # A claim older than this belongs to a dead worker (longer than the job timeout).
    claim_timeout: float = 120.0
    job_timeout: int = 60
    # Polling an idle outbox is one indexed SELECT; this sets the wait from commit to enqueue.
    relay_interval: float = 0.05
    sweep_interval: float = 5.0
    # Enqueued rows younger than this are not checked: their job is surely still queued.
    sweep_grace: float = 30.0
    batch_size: int = 500
    sms_validity_seconds: int = 900
    http_timeout: float = 10.0
    # auto: Twilio when its credentials are configured, else the console; or twilio / console.
    sms_backend: str = "auto"
    email_from: str = ""

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (exponential)."""
        return float(self.retry_base_seconds * 2 ** max(0, attempts - 1))


def load_notify_settings(env: Mapping[str, str] | None = None) -> NotifySettings:
    """NotifySettings from `env` (default os.environ)."""
    env = os.environ if env is None else env
    d = NotifySettings()
    return NotifySettings(
        max_attempts=int(env.get("NOTIFY_MAX_ATTEMPTS") or d.max_attempts),
        retry_base_seconds=float(env.get("NOTIFY_RETRY_BASE_SECONDS") or d.retry_base_seconds),
        claim_timeout=float(env.get("NOTIFY_CLAIM_TIMEOUT") or d.claim_timeout),
        job_timeout=int(env.get("NOTIFY_JOB_TIMEOUT") or d.job_timeout),
        relay_interval=float(env.get("NOTIFY_RELAY_INTERVAL") or d.relay_interval),
        sweep_interval=float(env.get("NOTIFY_SWEEP_INTERVAL") or d.sweep_interval),
        sweep_grace=float(env.get("NOTIFY_SWEEP_GRACE") or d.sweep_grace),
        batch_size=int(env.get("NOTIFY_BATCH_SIZE") or d.batch_size),
        sms_validity_seconds=int(env.get("NOTIFY_SMS_VALIDITY") or d.sms_validity_seconds),
        http_timeout=float(env.get("NOTIFY_HTTP_TIMEOUT") or d.http_timeout),
        sms_backend=(env.get("NOTIFY_SMS_BACKEND") or d.sms_backend).strip().lower(),
        email_from=env.get("NOTIFY_EMAIL_FROM") or d.email_from,
    )


def notify_settings(app: Flask | None = None) -> NotifySettings:
    """The app's NotifySettings (tests may replace app.extensions['notify'])."""
    settings: NotifySettings = (app or current_app).extensions["notify"]
    return settings
