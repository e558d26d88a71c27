"""The Redis connection and the RQ queues, made per app, never at import time."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from rq import Queue

NOTIFY_QUEUE = "notify"
# Each worker stamps its RQ worker hash with the time every NOTIFY_HEARTBEAT_SECONDS; a job
# whose worker's stamp is older than four beats belongs to a dead worker.
HEARTBEAT_FIELD = "hotline_heartbeat"


def worker_key(worker_name: str) -> str:
    """RQ's Redis key of a worker's hash."""
    return f"rq:worker:{worker_name}"


def worker_seems_dead(
    connection: redis.Redis, worker_name: str | None, now: float, stale_after: float
) -> bool:
    """True when the worker stamped heartbeats and its last one is stale (or its hash is gone)."""
    if not worker_name:
        return False
    raw = connection.hget(worker_key(worker_name), HEARTBEAT_FIELD)
    if raw is None:
        return False  # a worker that never beat: the claim timeout decides
    return now - float(raw) > stale_after


def init_app(app: Flask, url: str) -> None:
    """Attach a Redis client for `url` to `app`; no connection is opened until first use."""
    # Short timeouts: a webhook must never hang on a Redis that has gone away.
    app.extensions["redis"] = redis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=1.0
    )


def get_redis(app: Flask | None = None) -> redis.Redis:
    """The app's Redis client."""
    client: redis.Redis = (app or current_app).extensions["redis"]
    return client


def get_queue(name: str = NOTIFY_QUEUE, app: Flask | None = None) -> Queue:
    """The RQ queue `name` on the app's Redis."""
    return queue_on(get_redis(app), name)


def queue_on(connection: redis.Redis, name: str = NOTIFY_QUEUE) -> Queue:
    """The RQ queue `name` on `connection`, with the JSON serializer every side uses."""
    return Queue(name, connection=connection, serializer="json")
