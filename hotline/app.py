"""The application factory: builds config, database, queue and blueprints for one app."""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

import dashboard
import ivr
import mailin
import portal
from dashboard.web import error_page
from hotline import health, timing
from hotline.embedded_redis import EmbeddedRedis
from hotline.logs import configure_logging
from kernel import db, passwords, queue
from kernel.config import load_settings
from kernel.private_files import private_dir
from tickets.attachment_store import store_from_settings

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hotline app from the environment, with `test_config` overriding it."""
    env: dict[str, str] = dict(os.environ)
    if test_config:
        env.update({key: str(value) for key, value in test_config.items() if value is not None})
    settings = load_settings(env)
    configure_logging()
    if settings.data_dir.exists():
        # A data directory made by an earlier version (or by hand) with the umask's mode.
        private_dir(settings.data_dir)
    if settings.is_production and settings.public_base_url.startswith("http://"):
        log.warning(
            "PUBLIC_BASE_URL is %s: webhooks and dashboard sign-ins travel unencrypted; "
            "use https:// in production",
            settings.public_base_url,
        )
    if settings.redis_url is None:
        # Outside production with no REDIS_URL: run our own Redis for the life of this process.
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        if embedded.start_or_reuse():
            atexit.register(embedded.stop)
        env["REDIS_URL"] = embedded.url
        settings = load_settings(env)

    passwords.use_method(settings.password_hash_method)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        # Checked against Content-Length before the body is read (a larger body gets 413).
        MAX_CONTENT_LENGTH=settings.max_content_length,
        HOTLINE=settings,
    )
    app.register_error_handler(HTTPException, _plain_error)
    app.register_error_handler(InternalServerError, _server_error)
    db.init_app(
        app, settings.database_url, settings.db_timeout_seconds, settings.db_breaker_seconds
    )
    assert settings.redis_url is not None
    queue.init_app(app, settings.redis_url)

    timing.init_app(app)
    app.register_blueprint(health.bp)
    ivr.init_app(app)
    dashboard.init_app(app)
    app.extensions["attachment_store"] = store_from_settings(settings)
    portal.init_app(app)
    mailin.init_app(app)
    return app


def _plain_error(exc: HTTPException) -> Response:
    """A short text answer for an HTTP error no blueprint handles: no framework page."""
    code = exc.code or 500
    if code == 413:
        log.warning(
            "refused a %s-byte request to %s (limit %s)",
            request.content_length,
            request.path,
            request.max_content_length,
        )
    if _is_page(request.path):
        # A person's browser (an unknown dashboard address): the dashboard's own page.
        return error_page(exc)
    response = Response(f"{code} {exc.name}\n", code, mimetype="text/plain")
    for name, value in exc.get_headers():
        # Allow (405), Retry-After and the like still matter; the HTML content type does not.
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _is_page(path: str) -> bool:
    """Is `path` one people open in a browser (not a webhook, the API or health checks)?"""
    return path == "/" or path.startswith("/dashboard")


def _server_error(exc: InternalServerError) -> Response:
    """An unexpected error: logged with its traceback, never shown to the user."""
    if _is_page(request.path):
        # No navigation: the database may be what failed.
        return error_page(exc, bare=True)
    return _plain_error(exc)
