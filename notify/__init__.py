"""Follow-up notifications: the outbox relay, RQ jobs, SMS and email senders."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the notification webhooks on `app` (their settings are Settings.notify)."""
    from notify import views

    app.register_blueprint(views.bp)
