"""What domain code running outside a request needs from the app: settings, sessions, Redis."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Settings, settings_of


@dataclass(frozen=True)
class Services:
    """The app's settings, session factory and Redis client, without the app."""

    settings: Settings
    sessions: sessionmaker[Session]
    redis: redis.Redis


def services_of(app: Flask) -> Services:
    """The Services an app was built with."""
    return Services(
        settings=settings_of(app),
        sessions=app.extensions["sessionmaker"],
        redis=app.extensions["redis"],
    )


def current_services() -> Services:
    """The Services of the app whose context is active (a request, a CLI command or a job)."""
    if not has_app_context():
        raise RuntimeError("no app context: pass Services explicitly outside the app")
    return services_of(current_app)


def current_settings() -> Settings:
    """The Settings of the app whose context is active."""
    return current_services().settings
