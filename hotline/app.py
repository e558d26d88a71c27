"""The application factory: builds config, database, queue and blueprints for one app."""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from hotline import db, queue
from hotline.config import Settings, load_settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hotline app from the environment, with `test_config` overriding it."""
    env: dict[str, str] = dict(os.environ)
    if test_config:
        env.update({key: str(value) for key, value in test_config.items() if value is not None})
    settings = load_settings(env)
    if settings.redis_url is None:
        # Outside production with no REDIS_URL: run our own Redis for the life of this process.
        from hotline.embedded_redis import EmbeddedRedis

        embedded = EmbeddedRedis(settings.data_dir / "redis")
        if embedded.start_or_reuse():
            atexit.register(embedded.stop)
        env["REDIS_URL"] = embedded.url
        settings = load_settings(env)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        HOTLINE=settings,
    )
    _configure_logging(app)
    db.init_app(app, settings.database_url)
    assert settings.redis_url is not None
    queue.init_app(app, settings.redis_url)

    import dashboard
    import ivr
    import notify
    from hotline import health, timing

    timing.init_app(app)
    app.register_blueprint(health.bp)
    ivr.init_app(app)
    notify.init_app(app)
    dashboard.init_app(app)
    return app


def settings_of(app: Flask) -> Settings:
    """The Settings an app was built with."""
    settings: Settings = app.config["HOTLINE"]
    return settings


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    app.logger.setLevel(logging.INFO)
    # twilio-python logs every request and response header at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
