"""`hotline licences ...` and `hotline entitlement`: what managers see of an account's support."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from directory import create_account
from models import utcnow


@pytest.fixture
def acme(session: Session) -> None:
    create_account(session, "Acme")
    session.commit()


def run_json(runner: Any, *args: str) -> dict[str, Any]:
    result = runner.invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.mark.usefixtures("acme")
def test_support_licence_lasts_365_days_and_user_licence_forever(runner: Any) -> None:
    support = run_json(runner, "licences", "issue", "Acme", "--kind", "support", "--quantity", "10")
    expires = datetime.fromisoformat(support["expires_at"])
    assert abs(expires - (utcnow() + timedelta(days=365))) < timedelta(minutes=1)
    user = run_json(runner, "licences", "issue", "Acme", "--kind", "user", "--quantity", "12")
    assert user["expires_at"] is None
    short = run_json(
        runner, "licences", "issue", "Acme", "--kind", "support", "--quantity", "1", "--days", "30"
    )
    assert abs(datetime.fromisoformat(short["expires_at"]) - utcnow() - timedelta(days=30)) < (
        timedelta(minutes=1)
    )


@pytest.mark.usefixtures("acme")
def test_entitlement_follows_the_licences(runner: Any) -> None:
    none = runner.invoke("entitlement", "Acme")
    assert none.exit_code == 0
    assert none.output.strip() == (
        "Acme is not entitled to support: this account has no support licences."
    )
    runner.invoke("licences", "issue", "Acme", "--kind", "support", "--quantity", "10")
    runner.invoke("licences", "issue", "Acme", "--kind", "user", "--quantity", "12")
    short = run_json(runner, "entitlement", "Acme")
    assert short["entitled"] is False
    assert short["reason"] == "you have 12 user licences but only 10 current support licences"
    runner.invoke("licences", "issue", "Acme", "--kind", "support", "--quantity", "2")
    assert runner.invoke("entitlement", "Acme").output.strip() == "Acme is entitled to support."


@pytest.mark.usefixtures("acme")
def test_list_shows_every_licence(runner: Any) -> None:
    runner.invoke("licences", "issue", "Acme", "--kind", "support", "--quantity", "3")
    runner.invoke("licences", "issue", "Acme", "--kind", "user", "--quantity", "2")
    data = run_json(runner, "licences", "list", "Acme")
    assert [(lic["kind"], lic["quantity"], lic["current"]) for lic in data["licences"]] == [
        ("support", 3, True),
        ("user", 2, True),
    ]
    human = runner.invoke("licences", "list", "Acme").output
    assert "3 x support" in human and "2 x user" in human and "never expires" in human


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("licences", "issue", "Nobody", "--kind", "user", "--quantity", "1"),
            "Error: no account named 'Nobody'",
            id="no-account",
        ),
        pytest.param(
            ("licences", "issue", "Acme", "--kind", "user", "--quantity", "0"),
            "Error: quantity must be at least 1, got 0",
            id="zero-quantity",
        ),
        pytest.param(
            ("licences", "issue", "Acme", "--kind", "support", "--quantity", "1", "--days", "0"),
            "Error: a licence term must be at least 1 day, got 0",
            id="zero-days",
        ),
        pytest.param(("entitlement", "Nobody"), "Error: no account named 'Nobody'", id="ent"),
        pytest.param(("licences", "list", "Nobody"), "Error: no account named 'Nobody'", id="ls"),
    ],
)
def test_bad_input_is_one_clear_line(runner: Any, args: tuple[str, ...], message: str) -> None:
    result = runner.invoke(*args)
    assert result.exit_code == 1
    assert result.output.strip() == message


@pytest.mark.parametrize(
    "command", [("licences", "issue"), ("licences", "list"), ("entitlement",)], ids=str
)
def test_every_command_has_help(runner: Any, command: tuple[str, ...]) -> None:
    result = runner.invoke(*command, "--help")
    assert result.exit_code == 0 and "ACCOUNT" in result.output
