"""The call flow: Twilio voice webhooks, thin views over the domain, TwiML builders."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the IVR blueprint on `app`."""
    from ivr import engineer_views  # noqa: F401 - adds the ringing webhooks to the blueprint
    from ivr.views import bp
    from routing.dialer import init_app as init_dialer

    app.register_blueprint(bp)
    init_dialer(app)
