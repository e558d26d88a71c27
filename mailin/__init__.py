"""The email channel: our own SMTP intake server and the mail provider's inbound webhook, both
storing the message first and leaving the rest to a worker job (tickets.mail)."""

from __future__ import annotations

from flask import Flask

from mailin.webhook import bp


def init_app(app: Flask) -> None:
    """Register the inbound-mail webhook on `app`."""
    app.register_blueprint(bp)
