"""Managers keep the list of ticket categories (the portal's form and the ticket editor use it)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.security import current_user, manager_required
from dashboard.web import page_blueprint, sentence
from kernel.db import get_session
from tickets.categories import CategoryError, add_category, list_categories, set_active

bp = page_blueprint("dashboard_categories", __name__, url_prefix="/dashboard/categories")


@bp.get("/")
@manager_required
def index() -> str:
    """Every category, retired ones too."""
    session = get_session()
    categories = list_categories(session, active_only=False)
    # The buttons name the rows by id: defaults written just now must outlive this request.
    session.commit()
    return render_template("dashboard/categories.html", categories=categories)


@bp.post("/")
@manager_required
def add() -> Response:
    """A new category at the end of the list."""
    session = get_session()
    try:
        category = add_category(
            session,
            request.form.get("label", ""),
            customer_choice=request.form.get("customer_choice") == "on",
        )
    except CategoryError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".index"))
    audit.record(session, current_user(), "category.added", category.label, code=category.code)
    session.commit()
    flash(f"Category {category.label} added.", "ok")
    return redirect(url_for(".index"))


@bp.post("/<int:category_id>/active")
@manager_required
def toggle(category_id: int) -> Response:
    """Offer a category again, or retire it (tickets keep it)."""
    session = get_session()
    wanted = request.form.get("active") == "1"
    try:
        category = set_active(session, category_id, wanted)
    except CategoryError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".index"))
    action = "category.restored" if wanted else "category.retired"
    audit.record(session, current_user(), action, category.label, code=category.code)
    session.commit()
    flash(f"Category {category.label} {'offered again' if wanted else 'retired'}.", "ok")
    return redirect(url_for(".index"))
