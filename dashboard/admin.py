"""Manager-only administration: dashboard users and the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.security import current_user, manager_required
from dashboard.users import UserError, create_user, deactivate
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
        return redirect(url_for(".users"))
    audit.record(session, current_user(), "user.created", user.username, role=role.value)
    session.commit()
    flash(f"Created {role.value} {user.username}.", "ok")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/active")
@manager_required
def set_active(user_id: int) -> Response:
    """Deactivate or reactivate a user (never oneself, so a manager always remains)."""
    session = get_session()
    user = session.get(User, user_id) or abort(404)
    me = current_user()
    if me is not None and user.id == me.id:
        flash("You cannot deactivate yourself.", "error")
        return redirect(url_for(".users"))
    if request.form.get("active") == "1":
        user.active = True
    else:
        # Ends their sessions, API tokens and calendar links at once, and for good.
        deactivate(session, user, utcnow())
    audit.record(
        session,
        me,
        "user.activated" if user.active else "user.deactivated",
        user.username,
    )
    session.commit()
    return redirect(url_for(".users"))


@bp.get("/audit")
@manager_required
def audit_log() -> str:
    """The newest admin actions first."""
    entries = get_session().scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(AUDIT_PAGE)
    )
    return render_template("dashboard/audit.html", entries=list(entries))
