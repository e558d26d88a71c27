"""The portal's blueprint: its own session cookie, CSRF check, security headers, error pages.

Portal sessions never touch Flask's (staff) session: the cookie has its own name and path, the
rows their own table, and the CSRF token its own key label. A staff cookie opens no portal page
and a portal cookie no dashboard page.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from directory import portal_access
from kernel.config import settings_of
from kernel.db import get_session
from models import Account, Contact, PortalUser, utcnow

# The dashboard's policy: only our own scripts, no framing, forms post only here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
COOKIE = "hotline_portal"
CSRF_FIELD = "csrf_token"
F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint(
    "portal",
    __name__,
    url_prefix="/portal",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@bp.before_request
def _open_session() -> None:
    raw = request.cookies.get(COOKIE)
    g.portal_cookie_due = False
    if not portal_access.well_formed(raw):
        raw = portal_access.new_secret()
        g.portal_cookie_due = True
    assert raw is not None
    g.portal_sid = raw
    g.portal_user = None
    if request.endpoint == "portal.static":
        return
    db = get_session()
    row = portal_access.live_session(db, raw, utcnow())
    if row is not None:
        g.portal_user = row.portal_user
        db.commit()
    _check_csrf()


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.endpoint in UPLOAD_ENDPOINTS:
        # Files may be larger than the app-wide limit; the per-file limit is checked after.
        settings = settings_of(current_app).attachments
        request.max_content_length = settings.max_mb * settings.max_files * 1024 * 1024 + 65536
    sent = request.headers.get("X-CSRF-Token") or request.form.get(CSRF_FIELD) or ""
    if not hmac.compare_digest(csrf_token(), sent):
        abort(400, description="The form expired or did not come from this site; try again.")


# Routes taking files (set by the modules that define them).
UPLOAD_ENDPOINTS: set[str] = set()


def csrf_token() -> str:
    """This browser's CSRF token: an HMAC of its portal cookie under SECRET_KEY."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    sid = str(g.get("portal_sid", ""))
    return hmac.new(key, b"portal-csrf\0" + sid.encode(), hashlib.sha256).hexdigest()[:43]


@bp.after_request
def _finish(response: Response) -> Response:
    if g.get("portal_cookie_due"):
        settings = settings_of(current_app)
        response.set_cookie(
            COOKIE,
            str(g.portal_sid),
            max_age=int(portal_access.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE"))
            and settings.public_base_url.startswith("https://"),
            samesite="Lax",
            path="/portal/",
        )
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint != "portal.static":
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException) -> Response:
    code = exc.code or 500
    description = exc.description
    if code == 413:
        limits = settings_of(current_app).attachments
        description = (
            f"The files are too large to send: at most {limits.max_files} files of "
            f"{limits.max_mb} MB each. Nothing was saved; go back and choose smaller files."
        )
    body = render_template("portal/error.html", code=code, name=exc.name, description=description)
    return Response(body, status=code, mimetype="text/html")


def sign_in(user: PortalUser) -> None:
    """Start a new portal session (a new cookie id, so a planted one is useless); caller commits."""
    started = portal_access.start_session(get_session(), user, utcnow())
    g.portal_sid, g.portal_cookie_due, g.portal_user = started.raw, True, user


def sign_out() -> None:
    """End this browser's portal session and give it a fresh anonymous id; commits."""
    db = get_session()
    portal_access.end_session(db, str(g.portal_sid), utcnow())
    db.commit()
    g.portal_sid, g.portal_cookie_due, g.portal_user = portal_access.new_secret(), True, None


def current_portal_user() -> PortalUser | None:
    """The signed-in contact's portal access on this request."""
    found: PortalUser | None = g.get("portal_user")
    return found


def me() -> PortalUser:
    """The signed-in contact's portal access (views behind `contact_required` only)."""
    user = current_portal_user()
    assert user is not None
    return user


def my_contact() -> Contact:
    return me().contact


def my_account() -> Account:
    return me().contact.account


def contact_required(view: F) -> F:
    """Send anyone not signed in to the portal's sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_portal_user() is None:
            return redirect(url_for("portal.sign_in_page", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def pin_manager_required(view: F) -> F:
    """Only the account's admin contacts may change PINs."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_portal_user()
        if user is None:
            return redirect(url_for("portal.sign_in_page", next=request.full_path))
        if not user.can_manage_pins:
            abort(403, description="Only your account's admin contacts can change PINs.")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a portal path only, never another site."""
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target
    return url_for("portal.pin_page")


def sentence(message: str) -> str:
    """A domain message as a sentence: first letter capitalised (only), full stop at the end."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
