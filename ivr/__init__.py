"""The call flow: Twilio voice webhooks, thin views over the domain, TwiML builders."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the IVR blueprint on `app`."""
    from ivr.views import bp

    app.register_blueprint(bp)
