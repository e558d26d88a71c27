"""Contacts' access to the customer portal: invitations, sign-in links, passwords, sessions.

A sign-in link carries a random 256-bit secret; only its SHA-256 is stored, it works once and
for LINK_LIFETIME. Asking for a link for an address we do not know looks exactly the same as for
one we do (no enumeration). Portal sessions are their own rows and cookie, never staff's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kernel.passwords import hash_password, password_matches
from models import Contact, NotificationChannel, PortalSession, PortalSignInLink, PortalUser
from notify.outbox import add_notification

LINK_LIFETIME = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=2)
SESSION_LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12
# Links asked for one address within an hour, beyond which no more are sent.
LINKS_PER_HOUR = 5
SIGN_IN_EMAIL = "portal_sign_in"
INVITE_EMAIL = "portal_invite"
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class AccessError(ValueError):
    """A portal access change that cannot be made; the message says why."""


class LinkProblem(str, Enum):
    """Why a sign-in link did not sign anyone in."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class NewSecret:
    """A secret just made (a link token or a session id): `raw` is never stored."""

    row_id: int
    raw: str = field(repr=False)


def new_secret() -> str:
    """256 random bits, URL-safe: 43 characters."""
    return secrets.token_urlsafe(32)


def well_formed(raw: str | None) -> bool:
    """True when `raw` looks like a secret this module made (not worth a lookup otherwise)."""
    return bool(raw) and len(raw or "") == 43 and set(raw or "") <= _ID_CHARS


def hash_secret(raw: str) -> str:
    """SHA-256 (hex): a stolen table opens no link and no browser."""
    return hashlib.sha256(raw.encode()).hexdigest()


def portal_user_of(session: Session, contact: Contact) -> PortalUser | None:
    """The contact's portal access, if they were ever invited."""
    return session.scalar(select(PortalUser).where(PortalUser.contact_id == contact.id))


def invite(
    session: Session, contact: Contact, now: datetime, can_manage_pins: bool, link_base: str
) -> PortalUser:
    """Give a contact portal access (again) and email them a sign-in link; the caller commits."""
    if not contact.email:
        raise AccessError(f"{contact.name} has no email address to send the invitation to")
    user = portal_user_of(session, contact)
    if user is None:
        user = PortalUser(contact_id=contact.id, invited_at=now)
        session.add(user)
    user.active, user.deactivated_at, user.invited_at = True, None, now
    user.can_manage_pins = can_manage_pins
    session.flush()
    link = _new_link(session, user, now)
    add_notification(
        session,
        kind=INVITE_EMAIL,
        channel=NotificationChannel.EMAIL,
        recipient=contact.email,
        payload={
            "contact_name": contact.name,
            "account": contact.account.name,
            "link": link_base + link.raw,
            "minutes": int(LINK_LIFETIME.total_seconds() // 60),
        },
        now=now,
        dedupe_key=f"{INVITE_EMAIL}:{link.row_id}",
    )
    return user


def deactivate(session: Session, contact: Contact, now: datetime) -> bool:
    """Switch off a contact's portal access and end their sessions; False if they had none."""
    user = portal_user_of(session, contact)
    if user is None or not user.active:
        return False
    user.active, user.deactivated_at = False, now
    end_sessions(session, user.id, now)
    return True


def set_pin_permission(session: Session, contact: Contact, allowed: bool) -> None:
    """Let the contact manage the account's PINs (an admin contact), or not."""
    user = portal_user_of(session, contact)
    if user is None:
        raise AccessError(f"{contact.name} has not been invited to the portal")
    user.can_manage_pins = allowed


def request_link(session: Session, email: str, now: datetime, link_base: str) -> bool:
    """Email a sign-in link to an active contact with this address; the answer is not shown.

    Returns whether one was queued (for tests and logs only; the page says the same either way).
    """
    address = email.strip().lower()
    if "@" not in address or len(address) > 254:
        return False
    user = session.scalar(
        select(PortalUser)
        .join(Contact, Contact.id == PortalUser.contact_id)
        .where(func.lower(Contact.email) == address, PortalUser.active.is_(True))
        .order_by(PortalUser.id)
        .limit(1)
    )
    if user is None:
        return False
    recent = session.scalar(
        select(func.count())
        .select_from(PortalSignInLink)
        .where(
            PortalSignInLink.portal_user_id == user.id,
            PortalSignInLink.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= LINKS_PER_HOUR:
        return False
    link = _new_link(session, user, now)
    add_notification(
        session,
        kind=SIGN_IN_EMAIL,
        channel=NotificationChannel.EMAIL,
        recipient=user.contact.email or address,
        payload={
            "contact_name": user.contact.name,
            "link": link_base + link.raw,
            "minutes": int(LINK_LIFETIME.total_seconds() // 60),
        },
        now=now,
        dedupe_key=f"{SIGN_IN_EMAIL}:{link.row_id}",
    )
    return True


def _new_link(session: Session, user: PortalUser, now: datetime) -> NewSecret:
    # Links past their end are worthless; sending a new one is a cheap moment to drop them.
    session.execute(
        delete(PortalSignInLink).where(PortalSignInLink.expires_at < now - LINK_LIFETIME)
    )
    raw = new_secret()
    link = PortalSignInLink(
        portal_user_id=user.id,
        token_hash=hash_secret(raw),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    session.flush()
    return NewSecret(row_id=link.id, raw=raw)


def check_link(session: Session, raw: str, now: datetime) -> PortalUser | LinkProblem:
    """Who a link would sign in, or why it will not (without using it)."""
    link = (
        session.scalar(
            select(PortalSignInLink).where(PortalSignInLink.token_hash == hash_secret(raw))
        )
        if well_formed(raw)
        else None
    )
    if link is None:
        return LinkProblem.UNKNOWN
    if link.used_at is not None:
        return LinkProblem.USED
    if link.expires_at <= now:
        return LinkProblem.EXPIRED
    user = session.get(PortalUser, link.portal_user_id)
    if user is None or not user.active:
        return LinkProblem.INACTIVE
    return user


def redeem_link(session: Session, raw: str, now: datetime) -> PortalUser | LinkProblem:
    """Use a link: exactly once, even when two requests race (a conditional UPDATE)."""
    found = check_link(session, raw, now)
    if isinstance(found, LinkProblem):
        return found
    claimed = session.execute(
        update(PortalSignInLink)
        .where(PortalSignInLink.token_hash == hash_secret(raw), PortalSignInLink.used_at.is_(None))
        .values(used_at=now)
    )
    if not getattr(claimed, "rowcount", 0):
        return LinkProblem.USED
    found.last_login_at = now
    return found


def set_password(user: PortalUser, password: str) -> None:
    """Set the optional password (at least MIN_PASSWORD_LENGTH characters)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 200:
        raise AccessError("a password can be at most 200 characters")
    user.password_hash = hash_password(password)


def check_password(session: Session, email: str, password: str, now: datetime) -> PortalUser | None:
    """The active contact with this address and password, else None."""
    address = email.strip().lower()
    users = session.scalars(
        select(PortalUser)
        .join(Contact, Contact.id == PortalUser.contact_id)
        .where(func.lower(Contact.email) == address, PortalUser.active.is_(True))
    ).all()
    for user in users:
        if password_matches(user.password_hash, password):
            user.last_login_at = now
            return user
    if not users:
        password_matches(None, password)  # as long as a wrong password takes
    return None


def start_session(session: Session, user: PortalUser, now: datetime) -> NewSecret:
    """A new portal session for `user`; the raw id goes into the portal cookie only."""
    session.execute(delete(PortalSession).where(PortalSession.expires_at < now))
    raw = new_secret()
    row = PortalSession(
        token_hash=hash_secret(raw),
        portal_user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return NewSecret(row_id=row.id, raw=raw)


def live_session(session: Session, raw: str, now: datetime) -> PortalSession | None:
    """The live session a cookie names, touched at most once a minute; None otherwise."""
    if not well_formed(raw):
        return None
    row = session.scalar(select(PortalSession).where(PortalSession.token_hash == hash_secret(raw)))
    if (
        row is None
        or row.revoked_at is not None
        or now >= row.expires_at
        or now >= row.last_seen_at + SESSION_IDLE
        or not row.portal_user.active
    ):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(session: Session, raw: str, now: datetime) -> None:
    """Sign one browser out."""
    session.execute(
        update(PortalSession)
        .where(PortalSession.token_hash == hash_secret(raw), PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_sessions(session: Session, portal_user_id: int, now: datetime) -> None:
    """Sign every browser of a contact out (deactivation)."""
    session.execute(
        update(PortalSession)
        .where(PortalSession.portal_user_id == portal_user_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
