"""Engineers, and who is on call now and next when the routing module can tell."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import select

from dashboard.security import current_user, login_required, manager_required
from dashboard.web import page_blueprint
from hotline.db import get_session
from models import Engineer, utcnow

bp = page_blueprint("dashboard_engineers", __name__, url_prefix="/dashboard")


def _on_call() -> dict[str, Any] | None:
    """Who is on call now and next, or None while routing offers no such function."""
    try:
        from routing import on_call_summary  # type: ignore[attr-defined]
    except ImportError:
        return None
    summary: dict[str, Any] = on_call_summary(get_session(), utcnow())
    return summary


@bp.get("/engineers")
@manager_required
def engineers() -> str:
    """Every engineer, active or not, with the on-call picture."""
    rows = get_session().scalars(select(Engineer).order_by(Engineer.name)).all()
    return render_template("dashboard/engineers.html", engineers=rows, on_call=_on_call())


@bp.get("/my-schedule")
@login_required
def my_schedule() -> str:
    """The signed-in engineer's own details and the on-call picture."""
    user = current_user()
    return render_template(
        "dashboard/my_schedule.html",
        user=user,
        engineer=user.engineer if user else None,
        on_call=_on_call(),
    )
