"""Calendar feeds: revocable secret links that calendar apps fetch without signing in.

A feed shows one engineer's own shifts (any user linked to an engineer may make one) or one
whole schedule (managers only). The link's secret is shown once and stored only as SHA-256.
A feed stops working when it is revoked, when the user who made it is deactivated, and, for an
engineer's feed, when the engineer is marked inactive.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models import Engineer
from models.users import CalendarFeed, User

FEED_PREFIX = "hlc_"


class FeedError(ValueError):
    """A feed cannot be made or revoked as asked; the message says why."""


@dataclass(frozen=True)
class NewFeed:
    """A feed just made: `secret` goes into the link shown once."""

    feed: CalendarFeed
    secret: str = field(repr=False)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _create(
    session: Session, user: User, engineer: Engineer | None, schedule: str | None
) -> NewFeed:
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(
        token_hash=_hash(secret),
        prefix=secret[:12],
        user_id=user.id,
        engineer_id=engineer.id if engineer else None,
        schedule=schedule,
    )
    session.add(feed)
    session.flush()
    return NewFeed(feed=feed, secret=secret)


def create_engineer_feed(session: Session, user: User) -> NewFeed:
    """A feed of the shifts of `user`'s own engineer; the caller commits."""
    engineer = user.engineer
    if engineer is None or not engineer.active:
        raise FeedError("your user is not linked to an active engineer, so you have no shifts")
    return _create(session, user, engineer, None)


def create_schedule_feed(session: Session, user: User, schedule: str) -> NewFeed:
    """A feed of a whole schedule, for managers; the caller commits."""
    if not user.is_manager:
        raise FeedError("only managers can make a feed of a whole schedule")
    return _create(session, user, None, schedule[:100])


def live_feed(session: Session, secret: str, now: datetime) -> CalendarFeed | None:
    """The live feed this secret opens, marked as used; else None."""
    if not secret.startswith(FEED_PREFIX):
        return None
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(secret)))
    if feed is None or feed.revoked_at is not None or not feed.user.active:
        return None
    if feed.engineer_id is not None and (feed.engineer is None or not feed.engineer.active):
        return None
    feed.last_used_at = now
    return feed


def visible_feeds(session: Session, user: User) -> list[CalendarFeed]:
    """Unrevoked feeds `user` may see and revoke: their own, or every feed for a manager."""
    stmt = select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))
    if not user.is_manager:
        stmt = stmt.where(CalendarFeed.user_id == user.id)
    return list(session.scalars(stmt.order_by(CalendarFeed.id.desc())))


def revoke(session: Session, user: User, feed_id: int, now: datetime) -> CalendarFeed:
    """Revoke one feed (one's own, or any for a manager); the caller commits."""
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or not (user.is_manager or feed.user_id == user.id):
        raise FeedError("no such calendar link")
    if feed.revoked_at is None:
        feed.revoked_at = now
    return feed


def revoke_all_of(session: Session, user: User, now: datetime) -> None:
    """Revoke the feeds `user` made and those of their engineer (deactivation)."""
    owned = [CalendarFeed.user_id == user.id]
    if user.engineer_id is not None:
        owned.append(CalendarFeed.engineer_id == user.engineer_id)
    session.execute(
        update(CalendarFeed)
        .where(or_(*owned), CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
    )
