"""Sign-in limits hold under concurrency: N parallel guesses get at most the limit of checks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.users import IP_FAILURE_LIMIT, USERNAME_FAILURE_LIMIT
from models.users import LoginAttempt
from tests.dashboard.conftest import PASSWORD, csrf_of

PARALLEL = 24


def parallel_sign_ins(app: Flask, attempts: list[tuple[str, str, str]]) -> list[int]:
    """Post every (username, password, address) at the same moment; the status codes."""
    clients = []
    for _, _, ip in attempts:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = ip
        clients.append((client, csrf_of(client)))
    start = threading.Barrier(len(attempts))

    def attempt(index: int) -> int:
        client, token = clients[index]
        username, password, _ = attempts[index]
        start.wait()
        response = client.post(
            "/dashboard/login",
            data={"username": username, "password": password, "csrf_token": token},
        )
        return response.status_code

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(attempt, range(len(attempts))))


def checks(session: Session, **where: Any) -> int:
    """How many passwords were actually checked (each check is recorded)."""
    stmt = select(func.count()).select_from(LoginAttempt).filter_by(**where)
    return int(session.scalar(stmt) or 0)


def test_parallel_guesses_at_one_user_get_at_most_the_limit_of_checks(
    app: Flask, manager: Any, session: Session
) -> None:
    # Every guess from its own address, so only the per-user limit can stop them.
    attempts = [("maria", "wrong password!", f"10.0.0.{i}") for i in range(PARALLEL)]
    codes = parallel_sign_ins(app, attempts)
    assert codes.count(401) == USERNAME_FAILURE_LIMIT
    assert codes.count(429) == PARALLEL - USERNAME_FAILURE_LIMIT
    assert checks(session, username="maria") == USERNAME_FAILURE_LIMIT


def test_parallel_guesses_from_one_address_get_at_most_its_limit(
    app: Flask, session: Session
) -> None:
    # A different (unknown) username each time, so only the per-address limit can stop them.
    total = IP_FAILURE_LIMIT + 10
    attempts = [(f"user{i}", "wrong password!", "192.0.2.7") for i in range(total)]
    codes = parallel_sign_ins(app, attempts)
    assert codes.count(401) == IP_FAILURE_LIMIT
    assert codes.count(429) == total - IP_FAILURE_LIMIT
    assert checks(session, ip="192.0.2.7") == IP_FAILURE_LIMIT


def test_a_success_does_not_use_up_a_failure(app: Flask, manager: Any) -> None:
    from tests.dashboard.conftest import sign_in

    client = app.test_client()
    for _ in range(USERNAME_FAILURE_LIMIT - 1):
        assert sign_in(client, "maria", "wrong password!").status_code == 401
    assert sign_in(client, "maria", PASSWORD).status_code == 302
    client.post("/dashboard/logout", data={"csrf_token": csrf_of(client)})
    assert sign_in(client, "maria", "wrong password!").status_code == 401  # the fifth failure
    refused = sign_in(client, "maria", PASSWORD)
    assert refused.status_code == 429
    assert b"Too many failed sign-ins. Wait" in refused.data and b"minute" in refused.data


@pytest.mark.parametrize("username", ["MARIA", " maria "])
def test_the_limit_counts_a_username_however_it_is_typed(
    app: Flask, manager: Any, username: str
) -> None:
    from tests.dashboard.conftest import sign_in

    client = app.test_client()
    for _ in range(USERNAME_FAILURE_LIMIT):
        sign_in(client, username, "wrong password!")
    assert sign_in(client, "maria", PASSWORD).status_code == 429
