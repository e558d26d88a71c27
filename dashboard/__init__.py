"""The managers' dashboard and JSON API."""

from __future__ import annotations

from flask import Flask

from dashboard import (
    accounts,
    admin,
    auth,
    callbacks,  # noqa: F401 - adds the Call back button's route to tickets.bp
    categories,
    customer_conversation,
    engineers,
    mail_intake,
    metrics,
    outbox,
    portal_contacts,
    reports,
    schedules,
    tickets,
)
from dashboard.api import bp as api_bp
from dashboard.once import once_key
from dashboard.security import csrf_token, current_user
from dashboard.server_session import ServerSessionInterface, session_limits
from dashboard.timefmt import in_zone, local_time, span, viewer_zone


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints on `app`."""

    # Sessions live on the server; the cookie is a random id. Flask's own lifetime setting (31
    # days by default) no longer applies, but is set to the real limit for anything reading it.
    app.session_interface = ServerSessionInterface()
    app.config["PERMANENT_SESSION_LIFETIME"] = session_limits(app).lifetime
    for module in (
        auth,
        tickets,
        accounts,
        admin,
        engineers,
        schedules,
        outbox,
        metrics,
        reports,
        categories,
        mail_intake,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        current_user=current_user,
        once_key=once_key,
        viewer_zone=viewer_zone,
        local_time=local_time,
        customer_conversation=customer_conversation.customer_conversation,
        portal_access_of=portal_contacts.portal_access_of,
    )
    app.jinja_env.filters.update(in_zone=in_zone, span=span)
