"""Engineers, with who is on call now and next."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from dashboard.schedules import on_call_context
from dashboard.security import manager_required
from dashboard.web import page_blueprint
from kernel.db import get_session
from models import Engineer

bp = page_blueprint("dashboard_engineers", __name__, url_prefix="/dashboard")


@bp.get("/engineers")
@manager_required
def engineers() -> str:
    """Every engineer, active or not, with the on-call picture."""
    rows = get_session().scalars(select(Engineer).order_by(Engineer.name)).all()
    return render_template("dashboard/engineers.html", engineers=rows, **on_call_context())
