"""Manager-only administration: dashboard users and the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.security import current_user, manager_required
from dashboard.users import PASSWORD_RULE, UserChange, UserError, create_user, update_user
from dashboard.web import page_blueprint, sentence
from kernel.db import get_session
from models import Engineer, utcnow
from models.users import AuditEntry, User, UserRole

bp = page_blueprint("dashboard_admin", __name__, url_prefix="/dashboard")

AUDIT_PAGE = 200


@bp.get("/users")
@manager_required
def users() -> str:
    """Dashboard users and a form to add one."""
    session = get_session()
    return render_template(
        "dashboard/users.html",
        users=session.scalars(select(User).order_by(User.username)).all(),
        engineers=session.scalars(select(Engineer).order_by(Engineer.name)).all(),
        roles=[r.value for r in UserRole],
        password_rule=PASSWORD_RULE,
    )


@bp.post("/users")
@manager_required
def add_user() -> Response:
    """Create a user."""
    session = get_session()
    engineer_raw = request.form.get("engineer_id", "")
    try:
        role = UserRole(request.form.get("role", ""))
        user = create_user(
            session,
            request.form.get("username", ""),
            request.form.get("name", ""),
            request.form.get("password", ""),
            role,
            int(engineer_raw) if engineer_raw.isdigit() else None,
        )
    except (UserError, ValueError) as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".users"), code=303)
    audit.record(session, current_user(), "user.created", user.username, role=role.value)
    session.commit()
    flash(f"Created {role.value} {user.username}.", "ok")
    return redirect(url_for(".users"), code=303)


@bp.post("/users/<int:user_id>")
@manager_required
def edit_user(user_id: int) -> Response:
    """Change a user's role and engineer link."""
    engineer_raw = request.form.get("engineer_id", "")
    try:
        change = UserChange(
            role=UserRole(request.form.get("role", "")),
            engineer_id=int(engineer_raw) if engineer_raw.isdigit() else 0,
        )
    except ValueError:
        flash("Choose a role from the list.", "error")
        return redirect(url_for(".users"), code=303)
    return _apply(user_id, change)


@bp.post("/users/<int:user_id>/active")
@manager_required
def set_active(user_id: int) -> Response:
    """Deactivate or reactivate a user (never oneself, so a manager always remains)."""
    return _apply(user_id, UserChange(active=request.form.get("active") == "1"))


def _apply(user_id: int, change: UserChange) -> Response:
    session = get_session()
    user = session.get(User, user_id) or abort(404)
    me = current_user()
    try:
        changes = update_user(session, user, change, utcnow(), by=me)
    except UserError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".users"), code=303)
    if not changes:
        flash(f"{user.username}: nothing to change.", "ok")
        return redirect(url_for(".users"), code=303)
    for what in changes:
        action = {"deactivated": "user.deactivated", "reactivated": "user.activated"}
        audit.record(session, me, action.get(what, "user.updated"), user.username, change=what)
    session.commit()
    if "deactivated" in changes:
        message = (
            f"{user.username} deactivated: their sessions, API tokens and calendar links "
            "have ended."
        )
    else:
        message = f"{user.username} updated: {'; '.join(changes)}."
    flash(message, "ok")
    return redirect(url_for(".users"), code=303)


@bp.get("/audit")
@manager_required
def audit_log() -> str:
    """The newest admin actions first."""
    entries = get_session().scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(AUDIT_PAGE)
    )
    return render_template("dashboard/audit.html", entries=list(entries))
