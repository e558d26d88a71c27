"""Flask's session kept on the server: the cookie carries only a random id, never data."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, Response, current_app
from flask.sessions import SecureCookieSession, SessionInterface
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dashboard import sessions
from dashboard.sessions import SessionLimits
from kernel.config import settings_of
from models import utcnow
from models.users import DashboardSession

log = logging.getLogger(__name__)
CSRF_KEY = "csrf_token"


class ServerSession(SecureCookieSession):
    """The session of one request: its data, and which server-side row (if any) holds it."""

    def __init__(
        self,
        sid: str,
        data: dict[str, Any] | None = None,
        record_id: int | None = None,
        user_id: int | None = None,
        expires: datetime | None = None,
        fresh_id: bool = False,
    ) -> None:
        super().__init__(data or {})
        self.sid = sid
        self.record_id = record_id
        self.user_id = user_id
        self.expires = expires
        # cookie_due: the browser must get this id whether or not a page read the session;
        # fresh_id: the id is new, worth sending once a page used it (the sign-in form).
        self.cookie_due = False
        self.fresh_id = fresh_id
        self._expose_csrf()

    def _expose_csrf(self) -> None:
        # Readable as session["csrf_token"] (forms, tests), but derived, never stored: bypass the
        # change tracking so reading a page does not count as modifying the session.
        dict.__setitem__(self, CSRF_KEY, csrf_for(self.sid))

    def begin(self, raw_id: str, record_id: int, user_id: int, expires: datetime) -> None:
        """Switch to a just-started signed-in session (a new id, so a planted one is useless)."""
        self.clear()
        self.sid, self.record_id, self.user_id, self.expires = raw_id, record_id, user_id, expires
        self.cookie_due = True
        self._expose_csrf()

    def finish(self) -> None:
        """Switch to a fresh anonymous id (after sign-out)."""
        self.clear()
        self.sid, self.record_id, self.user_id, self.expires = sessions.new_id(), None, None, None
        self.cookie_due = True
        self._expose_csrf()

    def stored_data(self) -> dict[str, Any]:
        """What goes into the row: everything but the derived CSRF token."""
        return {key: value for key, value in self.items() if key != CSRF_KEY}


def csrf_for(sid: str) -> str:
    """The CSRF token of session id `sid`: an HMAC under SECRET_KEY, so no one else can make it."""

    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, b"dashboard-csrf\0" + sid.encode(), hashlib.sha256).digest()
    return digest.hex()[:43]


def session_limits(app: Flask) -> SessionLimits:
    """The idle and absolute limits the app was configured with."""
    settings = settings_of(app)
    return SessionLimits(
        idle=timedelta(minutes=settings.dashboard_idle_minutes),
        lifetime=timedelta(hours=settings.dashboard_session_hours),
    )


class ServerSessionInterface(SessionInterface):
    """Opens a request's session from its id cookie and saves it back to the database."""

    def _factory(self, app: Flask) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = app.extensions["sessionmaker"]
        return factory

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        raw = request.cookies.get(self.get_cookie_name(app))
        if raw is None or not sessions.well_formed(raw):
            return _fresh()
        try:
            with self._factory(app)() as db:
                row = sessions.find(db, raw)
                if row is None:
                    # An anonymous visitor's id: it only keys the sign-in form's CSRF token.
                    return ServerSession(raw)
                now = utcnow()
                if not sessions.is_live(row, now, session_limits(app)):
                    # Signed out, timed out or revoked: the old id opens nothing, not even a form.
                    return _fresh()
                if sessions.touch(row, now):
                    db.commit()
                return ServerSession(
                    raw,
                    data=dict(row.data or {}),
                    record_id=row.id,
                    user_id=row.user_id,
                    expires=row.expires_at,
                )
        except SQLAlchemyError:
            log.exception("could not read a dashboard session; treated as signed out")
            return ServerSession(raw)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not isinstance(session, ServerSession):
            return
        if session.accessed:
            response.vary.add("Cookie")
        if session.record_id is not None and session.modified:
            with self._factory(app)() as db:
                db.execute(
                    update(DashboardSession)
                    .where(DashboardSession.id == session.record_id)
                    .values(data=session.stored_data())
                )
                db.commit()
        # A new anonymous id is sent only when a page used the session (the sign-in form).
        if session.cookie_due or (session.fresh_id and session.accessed):
            response.set_cookie(
                self.get_cookie_name(app),
                session.sid,
                expires=session.expires,
                httponly=self.get_cookie_httponly(app),
                domain=self.get_cookie_domain(app),
                path=self.get_cookie_path(app),
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
            )


def _fresh() -> ServerSession:
    return ServerSession(sessions.new_id(), fresh_id=True)
