"""Server-side dashboard sessions: sign-out, timeouts, password change and deactivation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dashboard.sessions import hash_id
from models import utcnow
from models.users import DashboardSession
from tests.dashboard.conftest import PASSWORD, Browser, sign_in

MANAGER_PAGE = "/dashboard/users"


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie_of(client))
    return thief


def opens(client: FlaskClient, url: str = MANAGER_PAGE) -> bool:
    return client.get(url).status_code == 200


def set_times(session: Session, **values: Any) -> None:
    """Move every session row's clock, as time passing would."""
    session.execute(update(DashboardSession).values(**values))
    session.commit()


def test_the_cookie_is_only_a_random_id_and_the_database_keeps_its_hash(
    app: Flask, client: FlaskClient, manager: Any, session: Session
) -> None:
    response = sign_in(client, "maria")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    value = cookie_of(client)
    # 256 random bits, url-safe: no data, no signature, nothing to decode.
    assert len(value) == 43 and "." not in value and "maria" not in value
    row = session.scalars(select(DashboardSession)).one()
    assert row.token_hash == hash_id(value) and value not in row.token_hash
    # It ends after 12 hours at most, not Flask's 31 days.
    assert row.expires_at - row.created_at == timedelta(hours=12)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert "Expires=" in header


def test_sign_out_kills_a_cookie_copied_before(
    app: Flask, as_manager: Browser, session: Session
) -> None:
    thief = copy_of(app, as_manager.client)
    assert opens(thief)
    assert as_manager.post("/dashboard/logout").status_code == 302
    assert not opens(thief)
    assert not opens(as_manager.client)
    assert session.scalars(select(DashboardSession)).one().revoked_at is not None


def test_an_idle_session_ends(as_manager: Browser, session: Session) -> None:
    set_times(session, last_seen_at=utcnow() - timedelta(minutes=59))
    assert opens(as_manager.client)  # 59 minutes idle: still open, and now touched again
    set_times(session, last_seen_at=utcnow() - timedelta(minutes=61))
    response = as_manager.get(MANAGER_PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


def test_activity_keeps_a_session_alive_past_the_idle_limit(
    as_manager: Browser, session: Session
) -> None:
    set_times(session, last_seen_at=utcnow() - timedelta(minutes=50))
    assert opens(as_manager.client)
    row = session.scalars(select(DashboardSession)).one()
    session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    as_manager: Browser, session: Session
) -> None:
    set_times(session, expires_at=utcnow() + timedelta(minutes=1))
    assert opens(as_manager.client)
    set_times(session, expires_at=utcnow() - timedelta(seconds=1))
    assert not opens(as_manager.client)


def test_the_limits_are_configurable(
    app_config: dict[str, Any], retired_engines: list[Any], session: Session, manager: Any
) -> None:
    from hotline.app import create_app

    limits = {"DASHBOARD_IDLE_MINUTES": "5", "DASHBOARD_SESSION_HOURS": "2"}
    other = create_app({**app_config, **limits})
    try:
        client = other.test_client()
        assert sign_in(client, "maria").status_code == 302
        row = session.scalars(select(DashboardSession)).one()
        assert row.expires_at - row.created_at == timedelta(hours=2)
        set_times(session, last_seen_at=utcnow() - timedelta(minutes=6))
        assert not opens(client)
    finally:
        other.extensions["dialer"].close()
        retired_engines.append(other.extensions["engine"])


def test_a_password_change_ends_every_other_session_and_every_token(
    app: Flask, as_manager: Browser, manager_token: str
) -> None:
    thief = copy_of(app, as_manager.client)
    elsewhere = app.test_client()
    assert sign_in(elsewhere, "maria").status_code == 302
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {manager_token}"}
    assert api.get("/api/v1/tickets", headers=bearer).status_code == 200

    response = as_manager.post(
        "/dashboard/profile/password", data={"current": PASSWORD, "new": "a brand new secret"}
    )
    assert response.status_code == 302
    assert opens(as_manager.client)  # this browser was given a new session
    assert not opens(thief) and not opens(elsewhere)
    refused = api.get("/api/v1/tickets", headers=bearer)
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["error"]["message"]


def test_a_cli_password_reset_ends_sessions_too(
    app: Flask, as_manager: Browser, runner: Any
) -> None:
    result = runner.invoke("users", "set-password", "maria", "--password", "another long secret")
    assert result.exit_code == 0, result.output
    assert not opens(as_manager.client)


def test_deactivation_ends_sessions_and_tokens_for_good(
    app: Flask, client: FlaskClient, manager: Any, engineer_user: Any, engineer_token: str
) -> None:
    erik = app.test_client()
    assert sign_in(erik, "erik").status_code == 302
    assert opens(erik, "/dashboard/tickets/")
    assert sign_in(client, "maria").status_code == 302
    boss = Browser(client)
    bearer = {"Authorization": f"Bearer {engineer_token}"}
    boss.post(f"/dashboard/users/{engineer_user.id}/active", data={"active": "0"})
    assert not opens(erik, "/dashboard/tickets/")
    assert app.test_client().get("/api/v1/tickets", headers=bearer).status_code == 401
    # Reactivation lets Erik sign in again, but brings back neither old session nor token.
    boss.post(f"/dashboard/users/{engineer_user.id}/active", data={"active": "1"})
    assert not opens(erik, "/dashboard/tickets/")
    assert app.test_client().get("/api/v1/tickets", headers=bearer).status_code == 401
    assert sign_in(app.test_client(), "erik").status_code == 302


def test_a_forged_or_unknown_cookie_opens_nothing(app: Flask, manager: Any) -> None:
    for value in ("x", "a" * 43, "eyJ1aWQiOjF9.Zx.sig", "\x00" * 43):
        client = app.test_client()
        client.set_cookie("session", value)
        assert not opens(client)


def test_flash_messages_survive_the_redirect_on_the_server(as_manager: Browser) -> None:
    as_manager.post("/dashboard/profile/tokens/999/revoke")  # a 404, no flash
    response = as_manager.post(
        "/dashboard/profile/password", data={"current": "wrong", "new": "whatever long"}
    )
    assert response.status_code == 302
    assert b"Your current password was not right." in as_manager.get("/dashboard/profile").data


@pytest.mark.parametrize("path", ["/dashboard/login", "/healthz"])
def test_pages_that_do_not_use_the_session_set_no_cookie_for_strangers(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    cookies = response.headers.getlist("Set-Cookie")
    if path == "/dashboard/login":
        # The sign-in form needs its CSRF token, keyed on an anonymous random id.
        assert len(cookies) == 1 and len(cookie_of(client)) == 43
    else:
        assert cookies == []
