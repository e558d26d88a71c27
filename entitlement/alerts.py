"""Manager alerts written to the notifications outbox, at most once per dedupe key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Notification, NotificationChannel, NotificationStatus

# The notification worker resolves this role to the managers' phones and addresses at send time.
MANAGERS = "role:managers"
PRIVILEGED_PIN_USED = "privileged_pin_used"
PIN_FAILURE_BURST = "pin_failure_burst"


def alert_managers(
    session: Session, kind: str, payload: dict[str, Any], now: datetime, dedupe_key: str
) -> bool:
    """Queue an SMS and an email to managers; False when this dedupe key was already queued."""
    queued = False
    for channel in (NotificationChannel.SMS, NotificationChannel.EMAIL):
        row = {
            "kind": kind,
            "channel": channel,
            "recipient": MANAGERS,
            "payload": payload,
            "status": NotificationStatus.PENDING,
            "dedupe_key": f"{dedupe_key}:{channel.value}",
            "attempts": 0,
            "available_at": now,
            "created_at": now,
        }
        inserted = session.execute(_insert_ignoring_duplicates(session, row)).first()
        queued = queued or inserted is not None
    return queued


def _insert_ignoring_duplicates(session: Session, row: dict[str, Any]) -> Insert:
    # ON CONFLICT DO NOTHING: two transactions racing to raise one alert both succeed, one row.
    table = cast(Table, Notification.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Insert = postgresql.insert(table).values(row).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(row).on_conflict_do_nothing()
    else:
        statement = insert(table).values(row)
    # RETURNING says whether a row went in (rowcount is not reliable with ON CONFLICT).
    return statement.returning(table.c.id)
