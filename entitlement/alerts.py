"""Manager alerts written to the notifications outbox, at most once per dedupe key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import NotificationChannel
from notify.outbox import MANAGERS, add_notification

PRIVILEGED_PIN_USED = "privileged_pin_used"
PIN_FAILURE_BURST = "pin_failure_burst"

__all__ = ["MANAGERS", "PIN_FAILURE_BURST", "PRIVILEGED_PIN_USED", "alert_managers"]


def alert_managers(
    session: Session, kind: str, payload: dict[str, Any], now: datetime, dedupe_key: str
) -> bool:
    """Queue an SMS and an email to managers; False when this dedupe key was already queued."""
    queued = False
    for channel in (NotificationChannel.SMS, NotificationChannel.EMAIL):
        # The notification worker resolves the managers' role to phones and addresses at send.
        queued = (
            add_notification(
                session,
                kind=kind,
                channel=channel,
                recipient=MANAGERS,
                payload=payload,
                now=now,
                dedupe_key=f"{dedupe_key}:{channel.value}",
            )
            or queued
        )
    return queued
