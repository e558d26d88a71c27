"""The call flow: Twilio voice webhooks, thin views over the domain, TwiML builders."""

from __future__ import annotations

from flask import Flask

from ivr import (
    callback_views,  # noqa: F401 - adds the callback webhooks to the blueprint
    degraded_views,  # noqa: F401 - adds the degraded-mode webhooks to the blueprint
    engineer_views,  # noqa: F401 - adds the ringing webhooks to the blueprint
    message_status,
)
from ivr.dialer import init_app as init_dialer
from ivr.views import bp
from kernel.config import settings_of
from routing.last_known import LastKnown


def init_app(app: Flask) -> None:
    """Register the voice and message-status webhooks on `app`."""
    app.register_blueprint(bp)
    app.register_blueprint(message_status.bp)
    init_dialer(app)
    app.extensions["last_known"] = LastKnown(settings_of(app).data_dir / "last-known-oncall.json")
