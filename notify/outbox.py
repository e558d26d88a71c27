"""Writing outbox rows: insert-or-ignore on the dedupe key, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Notification, NotificationChannel, NotificationStatus

MANAGERS = "role:managers"


def add_notification(
    session: Session,
    *,
    kind: str,
    channel: NotificationChannel,
    recipient: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe_key: str,
    ticket_id: int | None = None,
) -> bool:
    """Queue one notification; False when its dedupe key was already queued (no commit)."""
    row = {
        "ticket_id": ticket_id,
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "payload": payload,
        "status": NotificationStatus.PENDING,
        "dedupe_key": dedupe_key,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }
    # Flush rows added to the session earlier so the conflict check (and the foreign keys)
    # see them; changes to loaded rows wait for the commit (a call's end is then one UPDATE).
    if session.new:
        session.flush()
    return session.execute(_insert_ignoring_duplicates(session, row)).first() is not None


def _insert_ignoring_duplicates(session: Session, row: dict[str, Any]) -> Insert:
    # ON CONFLICT DO NOTHING: a repeated status callback racing the first one leaves one row.
    table = cast(Table, Notification.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Insert = postgresql.insert(table).values(row).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(row).on_conflict_do_nothing()
    else:
        statement = insert(table).values(row)
    return statement.returning(table.c.id)
