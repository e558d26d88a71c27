"""Sign-in, sign-out and the signed-in user's own profile (password, API tokens)."""

from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.once import already_done
from dashboard.security import client_ip, current_user, login_required, sign_in, sign_out
from dashboard.timefmt import valid_zone, zone_names
from dashboard.users import UserError, authenticate, create_token, reserve_login, set_password
from dashboard.web import page_blueprint, sentence
from kernel.db import get_session
from kernel.passwords import password_matches
from models import utcnow
from models.users import ApiToken

# The choices offered when making an API token (form value -> days; 0: until revoked).
TOKEN_LIFETIMES = {"7": 7, "30": 30, "90": 90, "365": 365, "never": 0}
DEFAULT_TOKEN_DAYS = 90

bp = page_blueprint(
    "dashboard_auth",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)


def _safe_next(target: str | None) -> str:
    # Only local paths: an absolute or scheme-relative URL would make this an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("dashboard_tickets.index")


@bp.get("/")
def home() -> Response:
    """The dashboard's front door: the ticket list, or the sign-in page."""
    return redirect(url_for("dashboard_tickets.index"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Sign in with a username and password, throttled per username and address."""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("dashboard/login.html", next=request.args.get("next", ""))
    session = get_session()
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    ip = client_ip()
    now = utcnow()
    slot = reserve_login(session, username, ip, now)
    # Committed before the (slow) password check: the count is visible to parallel attempts
    # at once and no lock is held while hashing.
    session.commit()
    if not slot.allowed:
        assert slot.retry_at is not None
        minutes = max(1, math.ceil((slot.retry_at - now) / timedelta(minutes=1)))
        wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return (
            render_template(
                "dashboard/login.html",
                next=request.form.get("next", ""),
                error=f"Too many failed sign-ins. Wait {wait} and try again.",
                username=username,
            ),
            429,
        )
    user = authenticate(session, username, password, ip, now)
    if user is None:
        session.commit()
        return (
            render_template(
                "dashboard/login.html",
                next=request.form.get("next", ""),
                error="Wrong username or password.",
                username=username,
            ),
            401,
        )
    if user.time_zone is None:
        # A first sign-in: the browser's own zone is the best default (editable on Profile).
        user.time_zone = valid_zone(request.form.get("time_zone", "").strip())
    sign_in(user)
    session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the session ends on the server, so a copied cookie opens nothing after."""
    sign_out()
    return redirect(url_for("dashboard_auth.login"))


@bp.get("/profile")
@login_required
def profile() -> str:
    """The user's own details, password form and API tokens."""
    user = current_user()
    assert user is not None
    tokens = get_session().scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return render_template(
        "dashboard/profile.html",
        user=user,
        tokens=list(tokens),
        lifetimes=TOKEN_LIFETIMES,
        default_days=DEFAULT_TOKEN_DAYS,
        zones=zone_names(),
    )


@bp.get("/api-docs")
@login_required
def api_docs() -> str:
    """The API's OpenAPI document, readable (Swagger UI served from our own static files)."""
    return render_template("dashboard/api_docs.html")


@bp.post("/profile/time-zone")
@login_required
def set_time_zone() -> Response:
    """Choose the zone every dashboard time is shown in."""
    user = current_user()
    assert user is not None
    wanted = request.form.get("time_zone", "").strip()
    zone = valid_zone(wanted)
    if zone is None:
        flash(
            f"{wanted[:64] or 'An empty name'} is not a time zone; pick one from the list.", "error"
        )
        return redirect(url_for(".profile", _anchor="time-zone"), code=303)
    user.time_zone = zone
    get_session().commit()
    flash(f"Times are now shown in {zone}.", "ok")
    return redirect(url_for(".profile"), code=303)


@bp.post("/profile/password")
@login_required
def change_password() -> Response | tuple[str, int]:
    """Change one's own password, proving the current one first."""
    user = current_user()
    assert user is not None
    session = get_session()
    if not password_matches(user.password_hash, request.form.get("current", "")):
        flash("Your current password was not right.", "error")
        return redirect(url_for(".profile"))
    try:
        set_password(session, user, request.form.get("new", ""), utcnow())
    except UserError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".profile"))
    audit.record(session, user, "user.password_changed", user.username)
    # Every session and API token ended with the old password; this browser gets a new one.
    sign_in(user)
    session.commit()
    flash("Password changed. Your other sessions and your API tokens have ended.", "ok")
    return redirect(url_for(".profile"))


@bp.post("/profile/tokens")
@login_required
def new_token() -> str | Response:
    """Make an API token and show its secret once."""
    user = current_user()
    assert user is not None
    session = get_session()
    if already_done():
        flash("That token was already made; reloading does not make another.", "ok")
        return redirect(url_for(".profile"), code=303)
    days = TOKEN_LIFETIMES.get(request.form.get("expires", ""), DEFAULT_TOKEN_DAYS)
    expires_at = utcnow() + timedelta(days=days) if days else None
    made = create_token(session, user, request.form.get("name", ""), expires_at)
    audit.record(
        session, user, "api_token.created", user.username, token=made.token.prefix, days=days
    )
    session.commit()
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return render_template(
        "dashboard/profile.html",
        user=user,
        tokens=list(tokens),
        new_secret=made.secret,
        lifetimes=TOKEN_LIFETIMES,
        default_days=DEFAULT_TOKEN_DAYS,
        zones=zone_names(),
    )


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    """Revoke one of one's own API tokens."""
    user = current_user()
    assert user is not None
    session = get_session()
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, user, "api_token.revoked", user.username, token=token.prefix)
        session.commit()
    flash("Token revoked.", "ok")
    return redirect(url_for(".profile"))
