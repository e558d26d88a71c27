"""Who is signed in, what their role lets them reach, and the CSRF token on every form."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for

from dashboard import sessions
from dashboard.server_session import CSRF_KEY, ServerSession, session_limits
from kernel.db import get_session
from models import utcnow
from models.users import DashboardSession, User

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = CSRF_KEY
MANAGERS_ONLY = "This page is for managers."


def _server_session() -> ServerSession:
    found = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(found, ServerSession), "dashboard.init_app installs the server sessions"
    return found


def current_user() -> User | None:
    """The signed-in, active user of this request, loaded once."""
    if "user" not in g:
        user_id = getattr(session, "user_id", None)
        user = get_session().get(User, user_id) if isinstance(user_id, int) else None
        # The session row is checked when the request opens; deactivation also ends it here.
        g.user = user if user is not None and user.active else None
    found: User | None = g.user
    return found


def sign_in(user: User) -> None:
    """Start a new server-side session for `user`; the caller commits."""
    started = sessions.start(get_session(), user.id, utcnow(), session_limits(current_app))
    _server_session().begin(started.raw_id, started.row.id, user.id, started.row.expires_at)
    g.user = user


def sign_out() -> None:
    """End this browser's session on the server (a copied cookie opens nothing after); commits."""
    server = _server_session()
    if server.record_id is not None:
        db = get_session()
        row = db.get(DashboardSession, server.record_id)
        if row is not None:
            sessions.end(row, utcnow())
            db.commit()
    server.finish()
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
            abort(403, description=MANAGERS_ONLY)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def csrf_token() -> str:
    """The session's CSRF token (derived from its id, so nothing is stored for strangers)."""
    token = session.get(CSRF_FIELD)
    return token if isinstance(token, str) else ""


def check_csrf() -> None:
    """Reject a state-changing request whose form token does not match the session's."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(expected, sent):
        abort(400, description="The form expired or did not come from this site; try again.")


def client_ip() -> str:
    """The caller's address, as the (trusted, proxy-fixed) WSGI environ reports it."""
    return request.remote_addr or "unknown"
