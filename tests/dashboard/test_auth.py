"""Signing in and out, throttling, CSRF, roles and what a stranger can reach."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.users import LoginAttempt, User
from tests.dashboard.conftest import PASSWORD, Browser, csrf_of, sign_in

MANAGER_PAGES = [
    "/dashboard/accounts/",
    "/dashboard/engineers",
    "/dashboard/metrics",
    "/dashboard/users",
    "/dashboard/audit",
]
ANY_USER_PAGES = ["/dashboard/tickets/", "/dashboard/profile", "/dashboard/my-schedule"]


@pytest.mark.parametrize("url", MANAGER_PAGES + ANY_USER_PAGES + ["/dashboard/tickets/1"])
def test_a_stranger_is_sent_to_the_login_page(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


def test_the_login_page_is_public_and_hardened(client: FlaskClient) -> None:
    response = client.get("/dashboard/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_password_is_stored_hashed(session: Session, manager: Any) -> None:
    stored = session.scalar(select(User.password_hash).where(User.username == "maria"))
    assert stored is not None
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_sign_in_sets_a_secure_http_only_cookie(
    client: FlaskClient, manager: Any, app: Any
) -> None:
    response = sign_in(client, "maria")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/tickets/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    # The test app's public URL is https, so the cookie is marked Secure.
    assert "Secure" in cookie
    assert client.get("/dashboard/tickets/").status_code == 200


def test_wrong_password_is_refused_and_recorded(
    client: FlaskClient, manager: Any, session: Session
) -> None:
    response = sign_in(client, "maria", "wrong password!")
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data
    assert client.get("/dashboard/tickets/").status_code == 302
    attempt = session.scalar(select(LoginAttempt).where(LoginAttempt.username == "maria"))
    assert attempt is not None and attempt.succeeded is False


def test_sign_in_is_throttled_after_repeated_failures(client: FlaskClient, manager: Any) -> None:
    for _ in range(5):
        assert sign_in(client, "maria", "not the password").status_code == 401
    # Even the right password is refused while the username is throttled.
    response = sign_in(client, "maria")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.data


def test_a_deactivated_user_cannot_sign_in(
    client: FlaskClient, manager: Any, session: Session
) -> None:
    manager.active = False
    session.merge(manager)
    session.commit()
    assert sign_in(client, "maria").status_code == 401


def test_open_redirect_after_sign_in_is_refused(client: FlaskClient, manager: Any) -> None:
    response = client.post(
        "/dashboard/login",
        data={
            "username": "maria",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": csrf_of(client),
        },
    )
    assert response.headers["Location"] == "/dashboard/tickets/"


def test_a_form_without_the_csrf_token_is_rejected(client: FlaskClient, manager: Any) -> None:
    response = client.post("/dashboard/login", data={"username": "maria", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard/tickets/").status_code == 302


def test_signed_in_post_without_csrf_is_rejected(
    as_manager: Browser, call_ticket: Any, session: Session
) -> None:
    response = as_manager.client.post(
        f"/dashboard/tickets/{call_ticket.id}/status", data={"status": "solved"}
    )
    assert response.status_code == 400
    session.refresh(call_ticket)
    assert call_ticket.status.value == "acknowledged"  # as the accepting engineer left it


@pytest.mark.parametrize("url", MANAGER_PAGES)
def test_an_engineer_cannot_reach_manager_pages(as_engineer: Browser, url: str) -> None:
    assert as_engineer.get(url).status_code == 403


@pytest.mark.parametrize("url", ANY_USER_PAGES)
def test_an_engineer_reaches_tickets_and_their_own_pages(as_engineer: Browser, url: str) -> None:
    assert as_engineer.get(url).status_code == 200


@pytest.mark.parametrize("url", MANAGER_PAGES + ANY_USER_PAGES)
def test_a_manager_reaches_every_page(as_manager: Browser, url: str) -> None:
    assert as_manager.get(url).status_code == 200


def test_sign_out_ends_the_session(as_manager: Browser) -> None:
    assert as_manager.post("/dashboard/logout").status_code == 302
    assert as_manager.get("/dashboard/tickets/").status_code == 302


def test_changing_password_keeps_this_session(as_manager: Browser) -> None:
    response = as_manager.post(
        "/dashboard/profile/password", data={"current": PASSWORD, "new": "a brand new secret"}
    )
    assert response.status_code == 302
    assert b"Password changed" in as_manager.get("/dashboard/profile").data
    assert as_manager.get("/dashboard/tickets/").status_code == 200


def test_a_manager_creates_a_user_and_it_is_audited(as_manager: Browser) -> None:
    response = as_manager.post(
        "/dashboard/users",
        data={"username": "nina", "name": "Nina", "password": "long enough pw", "role": "engineer"},
    )
    assert response.status_code == 303
    assert b"nina" in as_manager.get("/dashboard/users").data
    audit = as_manager.get("/dashboard/audit").data
    assert b"user.created" in audit and b"nina" in audit


def test_an_engineer_cannot_create_users(as_engineer: Browser) -> None:
    response = as_engineer.post(
        "/dashboard/users",
        data={"username": "x2", "name": "X", "password": "long enough pw", "role": "manager"},
    )
    assert response.status_code == 403
