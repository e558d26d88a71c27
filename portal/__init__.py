"""The customer portal: contacts sign in, see their PINs, open tickets and talk to support."""

from __future__ import annotations

from flask import Flask

from portal import auth, pins, tickets  # noqa: F401 - each adds its routes to web.bp
from portal.web import bp, csrf_token, current_portal_user


def init_app(app: Flask) -> None:
    """Register the portal's blueprint on `app`."""
    app.register_blueprint(bp)
    # Globals, not a context processor: imported macros (the forms' CSRF field) see them too.
    app.jinja_env.globals.update(portal_csrf=csrf_token, portal_user=current_portal_user)
