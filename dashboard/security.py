"""Who is signed in, what their role lets them reach, and the CSRF token on every form."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, session, url_for

from hotline.db import get_session
from models.users import User

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"


def current_user() -> User | None:
    """The signed-in, active user of this request, loaded once."""
    if "user" not in g:
        user_id = session.get("uid")
        user = get_session().get(User, user_id) if isinstance(user_id, int) else None
        # A deactivated user (or a password change) ends every session they had.
        if user is not None and (
            not user.active or session.get("pw") != password_stamp(user.password_hash)
        ):
            user = None
        g.user = user
    found: User | None = g.user
    return found


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the password hash kept in the session to detect changes."""
    return password_hash[-12:]


def sign_in(user: User) -> None:
    """Start a fresh session for `user` (a new cookie, so a planted session id is useless)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["pw"] = password_stamp(user.password_hash)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.user = user


def sign_out() -> None:
    """End the session."""
    session.clear()
    g.user = None


def login_required(view: F) -> F:
    """Send strangers to the sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("dashboard_auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def manager_required(view: F) -> F:
    """Only managers; a signed-in engineer gets 403, a stranger the sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("dashboard_auth.login", next=request.full_path))
        if not user.is_manager:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def check_csrf() -> None:
    """Reject a state-changing request whose form token does not match the session's."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
        abort(400, description="The form expired or did not come from this site; try again.")


def client_ip() -> str:
    """The caller's address, as the (trusted, proxy-fixed) WSGI environ reports it."""
    return request.remote_addr or "unknown"
