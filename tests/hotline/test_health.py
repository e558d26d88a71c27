"""GET /healthz tells an operator whether the database and Redis answer."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask

from hotline import create_app


def test_healthz_ok_when_database_and_redis_answer(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_names_redis_when_it_does_not_answer(
    app_config: dict[str, Any], tmp_path: Any
) -> None:
    app_config["REDIS_URL"] = f"unix://{tmp_path}/nothing-listens-here.sock"
    app: Flask = create_app(app_config)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    app.extensions["engine"].dispose()
    assert isinstance(app.extensions["redis"], redis.Redis)


def test_healthz_names_database_when_it_does_not_answer(
    app_config: dict[str, Any], tmp_path: Any
) -> None:
    app_config["DATABASE_URL"] = f"sqlite:///{tmp_path}/missing-dir/x/kernel.db"
    app: Flask = create_app(app_config)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["down"] == ["database"]
