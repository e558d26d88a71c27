"""Server-side dashboard sessions: start, find, touch and end them (plain Python, `now` given)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models.users import DashboardSession

# Writing last_seen_at on every request would make each page view a write; a minute is
# precise enough for an idle limit counted in tens of minutes.
TOUCH_EVERY = timedelta(minutes=1)
# Cookie values are token_urlsafe(32): 43 characters. Anything else is not worth a lookup.
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class SessionLimits:
    """How long a session may sit unused, and how long it may live at most."""

    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True)
class NewSession:
    """A session just started: `raw_id` goes into the cookie and is stored only hashed."""

    row: DashboardSession
    raw_id: str = field(repr=False)


def new_id() -> str:
    """A random, unguessable session id (256 bits)."""
    return secrets.token_urlsafe(32)


def well_formed(raw_id: str | None) -> bool:
    """True when `raw_id` looks like an id this module made."""
    return bool(raw_id) and len(raw_id or "") == 43 and set(raw_id or "") <= _ID_CHARS


def hash_id(raw_id: str) -> str:
    """The SHA-256 (hex) kept in the database: a stolen table opens no browser."""
    return hashlib.sha256(raw_id.encode()).hexdigest()


def start(session: Session, user_id: int, now: datetime, limits: SessionLimits) -> NewSession:
    """A new session for `user_id`, ending at the latest `limits.lifetime` from now."""
    # Dead rows are only kept until their absolute end; sign-in is a cheap moment to drop them.
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    raw_id = new_id()
    row = DashboardSession(
        token_hash=hash_id(raw_id),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.lifetime,
        data={},
    )
    session.add(row)
    session.flush()
    return NewSession(row=row, raw_id=raw_id)


def find(session: Session, raw_id: str) -> DashboardSession | None:
    """The row for a cookie's id, live or not."""
    stmt = select(DashboardSession).where(DashboardSession.token_hash == hash_id(raw_id))
    return session.scalar(stmt)


def is_live(row: DashboardSession, now: datetime, limits: SessionLimits) -> bool:
    """True while the session is neither ended, past its lifetime, idle too long, nor orphaned."""
    return (
        row.revoked_at is None
        and now < row.expires_at
        and now < row.last_seen_at + limits.idle
        and row.user.active
    )


def touch(row: DashboardSession, now: datetime) -> bool:
    """Record activity (at most once a minute); True when the row changed."""
    if now - row.last_seen_at < TOUCH_EVERY:
        return False
    row.last_seen_at = now
    return True


def end(row: DashboardSession, now: datetime) -> None:
    """End one session (sign-out)."""
    if row.revoked_at is None:
        row.revoked_at = now


def end_all(session: Session, user_id: int, now: datetime) -> int:
    """End every session of `user_id` (password change, deactivation); returns how many."""
    result = session.execute(
        update(DashboardSession)
        .where(DashboardSession.user_id == user_id, DashboardSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
