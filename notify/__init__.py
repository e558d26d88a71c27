"""Follow-up notifications: the outbox relay, RQ jobs, SMS and email senders."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the notification webhooks and settings on `app`."""
    from notify import views
    from notify.settings import load_notify_settings

    app.extensions["notify"] = load_notify_settings()
    app.register_blueprint(views.bp)
