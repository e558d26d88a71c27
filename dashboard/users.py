"""Dashboard users: creating them, checking passwords, throttling sign-in, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models.users import ApiToken, LoginAttempt, User, UserRole

MIN_PASSWORD_LENGTH = 10
# Failures allowed per username (and, more loosely, per address) in the window.
USERNAME_FAILURE_LIMIT = 5
IP_FAILURE_LIMIT = 20
THROTTLE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "hlt_"  # noqa: S105 - a public prefix, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Checked against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserError(ValueError):
    """A user operation that cannot be done as asked; the message says why."""


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
        password_hash=generate_password_hash(password),
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
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def set_password(user: User, password: str) -> None:
    """Replace the user's password (which also ends their other sessions)."""
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)


def is_throttled(session: Session, username: str, ip: str, now: datetime) -> bool:
    """True when this username or address has failed too often recently."""
    since = now - THROTTLE_WINDOW
    failures = LoginAttempt.succeeded.is_(False)
    by_user = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since, failures)
    )
    if (by_user or 0) >= USERNAME_FAILURE_LIMIT:
        return True
    by_ip = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.at >= since, failures)
    )
    return (by_ip or 0) >= IP_FAILURE_LIMIT


def authenticate(
    session: Session, username: str, password: str, ip: str, now: datetime
) -> User | None:
    """The active user these credentials name, recording the attempt either way."""
    username = username.strip().lower()[:64]
    user = session.scalar(select(User).where(User.username == username))
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = bool(user and user.active and valid)
    session.add(LoginAttempt(at=now, username=username, ip=ip[:64], succeeded=ok))
    if ok and user is not None:
        user.last_login_at = now
        return user
    return None


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> NewToken:
    """A new API token for `user`; the caller commits and shows `secret` once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip()[:100] or "token",
        token_hash=_hash_token(secret),
        prefix=secret[:12],
    )
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def user_for_token(session: Session, secret: str, now: datetime) -> User | None:
    """The active user owning this unrevoked token, else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = now
    return token.user
