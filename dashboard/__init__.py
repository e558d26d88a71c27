"""The managers' dashboard and JSON API."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints on `app`."""
    from dashboard import accounts, admin, auth, engineers, metrics, outbox, schedules, tickets
    from dashboard.api import bp as api_bp
    from dashboard.security import csrf_token, current_user
    from dashboard.timefmt import in_zone, span

    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    for module in (auth, tickets, accounts, admin, engineers, schedules, outbox, metrics):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user)
    app.jinja_env.filters.update(in_zone=in_zone, span=span)
