"""API tokens: an expiry chosen when made, and a clear answer once it has passed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import utcnow
from models.users import ApiToken
from tests.dashboard.conftest import Browser


def make_token(browser: Browser, expires: str) -> str:
    """Create a token on the profile page; the secret it shows once."""
    html = browser.post("/dashboard/profile/tokens", data={"name": "ci", "expires": expires})
    match = re.search(r'id="new-token">([^<]+)<', html.data.decode())
    assert match
    return match.group(1)


@pytest.mark.parametrize(("choice", "days"), [("7", 7), ("365", 365), ("", 90), ("bogus", 90)])
def test_the_expiry_is_chosen_when_made(
    as_manager: Browser, session: Session, choice: str, days: int
) -> None:
    make_token(as_manager, choice)
    token = session.scalars(select(ApiToken)).one()
    assert token.expires_at is not None
    assert abs(token.expires_at - (token.created_at + timedelta(days=days))) < timedelta(seconds=5)


def test_a_token_may_be_made_to_never_expire(as_manager: Browser, session: Session) -> None:
    make_token(as_manager, "never")
    assert session.scalars(select(ApiToken)).one().expires_at is None
    assert "never" in as_manager.get("/dashboard/profile").data.decode()


def test_an_expired_token_gets_a_clear_401(
    as_manager: Browser, client: FlaskClient, session: Session
) -> None:
    secret = make_token(as_manager, "30")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tickets", headers=bearer).status_code == 200
    session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = client.get("/api/v1/tickets", headers=bearer)
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]["message"]
    assert message.startswith("the API token expired at 20") and "profile page" in message
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_told_apart_from_an_expired_one(
    client: FlaskClient, manager: Any
) -> None:
    response = client.get("/api/v1/tickets", headers={"Authorization": "Bearer hlt_nothing"})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "the API token is unknown"
