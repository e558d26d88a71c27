"""GET /healthz: whether the database and Redis answer."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kernel.db import get_session
from kernel.queue import get_redis

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database does not answer: %s", exc.__class__.__name__)
        return "down"
    return "ok"


def _check_redis() -> str:
    try:
        get_redis().ping()
    except redis.RedisError as exc:
        log.warning("health check: redis does not answer: %s", exc.__class__.__name__)
        return "down"
    return "ok"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 with each dependency's state when all answer, else 503 naming those that do not."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    down = [name for name, state in checks.items() if state != "ok"]
    body: dict[str, object] = {"status": "ok" if not down else "unavailable", "checks": checks}
    if down:
        body["down"] = down
    return jsonify(body), (503 if down else 200)
