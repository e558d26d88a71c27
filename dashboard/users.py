"""Dashboard users: creating them, passwords, throttled sign-in, ending access, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dashboard import feeds, sessions
from kernel import counters
from kernel.passwords import hash_password, password_matches
from models import Engineer
from models.users import ApiToken, LoginAttempt, User, UserRole

MIN_PASSWORD_LENGTH = 10
PASSWORD_RULE = f"at least {MIN_PASSWORD_LENGTH} characters"
# Failures allowed per username (and, more loosely, per address) in a fixed window.
USERNAME_FAILURE_LIMIT = 5
IP_FAILURE_LIMIT = 20
THROTTLE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "hlt_"  # noqa: S105 - a public prefix, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class UserError(ValueError):
    """A user operation that cannot be done as asked; the message says why."""


class TokenRefusal(str, Enum):
    """Why an API token opens nothing."""

    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class TokenCheck:
    """The user a token opens, or the refusal (and, for an expired token, when it expired)."""

    user: User | None = None
    refusal: TokenRefusal | None = None
    expired_at: datetime | None = None


@dataclass(frozen=True)
class NewToken:
    """An API token just made: `secret` is shown once and stored only hashed."""

    token: ApiToken
    secret: str = field(repr=False)


def create_user(
    session: Session,
    username: str,
    name: str,
    password: str,
    role: UserRole,
    engineer_id: int | None = None,
) -> User:
    """Add a user with a hashed password; the caller commits."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise UserError("username must be 2-64 lowercase letters, digits, '.', '_' or '-'")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    check_password_rules(password)
    user = User(
        username=username,
        name=name.strip() or username,
        password_hash=hash_password(password),
        role=role,
        engineer_id=engineer_id,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def check_password_rules(password: str) -> None:
    """Raise UserError when a password is too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        # The same words as PASSWORD_RULE, which forms and prompts show before it is typed.
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def set_password(session: Session, user: User, password: str, now: datetime) -> None:
    """Replace the user's password, ending every session and API token they had."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    end_access(session, user, now)


@dataclass(frozen=True)
class LoginSlot:
    """A sign-in attempt counted against its limits: may its password be checked?"""

    allowed: bool
    # When the window that refused it ends (None when allowed).
    retry_at: datetime | None = None


def _login_keys(username: str, ip: str) -> tuple[str, str]:
    return f"login:user:{username}", f"login:ip:{ip[:64]}"


def reserve_login(session: Session, username: str, ip: str, now: datetime) -> LoginSlot:
    """Count an attempt for `username` and `ip` before checking it; the caller commits at once.

    The count is one atomic upsert, so N parallel attempts get N distinct counts and at most
    the limit of them is allowed a password check, whatever the parallelism.
    """
    user_key, ip_key = _login_keys(username.strip().lower()[:64], ip)
    by_user = counters.add(session, user_key, now, THROTTLE_WINDOW)
    by_ip = counters.add(session, ip_key, now, THROTTLE_WINDOW)
    if by_user <= USERNAME_FAILURE_LIMIT and by_ip <= IP_FAILURE_LIMIT:
        return LoginSlot(allowed=True)
    window_end = counters.window_start(now, THROTTLE_WINDOW) + THROTTLE_WINDOW
    return LoginSlot(allowed=False, retry_at=window_end)


def authenticate(
    session: Session, username: str, password: str, ip: str, now: datetime
) -> User | None:
    """The active user these credentials name, recording the attempt either way.

    Call only with a slot from reserve_login (same `now`), with nothing pending in `session`:
    the read of the user ends its transaction before the password is hashed, so no pooled
    connection waits on the hash (a burst of sign-ins would otherwise hold them all and time
    out everything else). A success gives its count back, so the limits count failures.
    """
    username = username.strip().lower()[:64]
    user = session.scalar(select(User).where(User.username == username))
    # Read-only so far; with expire_on_commit off the user's loaded fields stay readable.
    session.commit()
    valid = password_matches(user.password_hash if user else None, password)
    ok = bool(user and user.active and valid)
    session.add(LoginAttempt(at=now, username=username, ip=ip[:64], succeeded=ok))
    if ok and user is not None:
        for key in _login_keys(username, ip):
            counters.add(session, key, now, THROTTLE_WINDOW, amount=-1)
        user.last_login_at = now
        return user
    return None


def end_access(session: Session, user: User, now: datetime) -> None:
    """End every dashboard session and API token of `user` (password change, deactivation)."""
    sessions.end_all(session, user.id, now)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def deactivate(session: Session, user: User, now: datetime) -> None:
    """Deactivate `user`: their sessions, API tokens and calendar feeds end for good."""
    user.active = False
    end_access(session, user, now)
    feeds.revoke_all_of(session, user, now)


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, user: User, name: str, expires_at: datetime | None = None
) -> NewToken:
    """A new API token for `user`, valid until `expires_at` (None: until revoked); the caller
    commits and shows `secret` once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip()[:100] or "token",
        token_hash=_hash_token(secret),
        prefix=secret[:12],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def check_token(session: Session, secret: str, now: datetime) -> TokenCheck:
    """The active user owning this live token, or why the token opens nothing."""
    token = (
        session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
        if secret.startswith(TOKEN_PREFIX)
        else None
    )
    if token is None:
        return TokenCheck(refusal=TokenRefusal.UNKNOWN)
    if token.revoked_at is not None:
        return TokenCheck(refusal=TokenRefusal.REVOKED)
    if token.expires_at is not None and now >= token.expires_at:
        return TokenCheck(refusal=TokenRefusal.EXPIRED, expired_at=token.expires_at)
    if not token.user.active:
        return TokenCheck(refusal=TokenRefusal.INACTIVE)
    token.last_used_at = now
    return TokenCheck(user=token.user)


@dataclass(frozen=True)
class UserChange:
    """What to change on a user; None leaves a field as it is (engineer_id 0 unlinks)."""

    role: UserRole | None = None
    engineer_id: int | None = None
    active: bool | None = None


def update_user(
    session: Session, user: User, change: UserChange, now: datetime, by: User | None = None
) -> list[str]:
    """Apply `change` to `user`, returning what changed ('role: engineer -> manager', ...).

    Nobody demotes or deactivates themselves, and the last active manager stays one, so the
    dashboard always has someone who can manage it. The caller commits.
    """
    changes: list[str] = []
    demoting = change.role is not None and change.role is not UserRole.MANAGER
    deactivating = change.active is False and user.active
    if by is not None and by.id == user.id and (demoting or deactivating):
        raise UserError("you cannot demote or deactivate yourself; ask another manager")
    if user.role is UserRole.MANAGER and user.active and (demoting or deactivating):
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == UserRole.MANAGER, User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise UserError(f"{user.username} is the last active manager; add another first")
    if change.role is not None and change.role is not user.role:
        changes.append(f"role: {user.role.value} -> {change.role.value}")
        user.role = change.role
    if change.engineer_id is not None:
        wanted = change.engineer_id or None
        if wanted is not None and session.get(Engineer, wanted) is None:
            raise UserError(f"no engineer with id {wanted} (see: hotline engineers list)")
        if wanted != user.engineer_id:
            changes.append(f"engineer: {user.engineer_id or 'none'} -> {wanted or 'none'}")
            user.engineer_id = wanted
    if change.active is not None and change.active != user.active:
        if change.active:
            user.active = True
            changes.append("reactivated")
        else:
            deactivate(session, user, now)
            changes.append("deactivated")
    return changes
