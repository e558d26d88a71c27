"""`hotline pins ...`: a PIN is printed once, at issue or renewal, and never listed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from directory import create_account
from entitlement import PinPolicy, verify_pin
from kernel.config import settings_of
from models import PinOutcome, utcnow


@pytest.fixture
def acme(session: Session) -> None:
    create_account(session, "Acme")
    session.commit()


def typed(app: Flask, session: Session, keys: str, call: str = "CA-cli") -> PinOutcome:
    """The outcome a caller would get typing `keys` now, under the app's own pepper."""
    policy = PinPolicy.from_settings(settings_of(app))
    result = verify_pin(session, keys, "+441632960001", call, utcnow(), policy)
    session.commit()
    return result.outcome


def issue(runner: Any, *args: str) -> dict[str, Any]:
    result = runner.invoke("pins", "issue", "Acme", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.mark.usefixtures("acme")
def test_issue_prints_a_working_standing_pin_once(
    runner: Any, app: Flask, session: Session
) -> None:
    data = issue(runner, "--kind", "standing")
    assert data["kind"] == "standing" and len(data["pin"]) == 8 and data["pin"].isdigit()
    assert "cannot be shown again" in data["note"]
    assert typed(app, session, data["pin"]) is PinOutcome.OK


@pytest.mark.usefixtures("acme")
def test_human_output_shows_the_pin_and_the_warning(runner: Any) -> None:
    result = runner.invoke("pins", "issue", "Acme", "--kind", "privileged")
    assert result.exit_code == 0
    assert "New privileged PIN for Acme: p" in result.output
    assert "typed on the keypad as *" in result.output
    assert "cannot be shown again" in result.output


@pytest.mark.usefixtures("acme")
def test_privileged_pin_is_p_digits_and_typed_with_star(
    runner: Any, app: Flask, session: Session
) -> None:
    data = issue(runner, "--kind", "privileged")
    assert data["pin"].startswith("p") and data["keypad"] == "*" + data["pin"][1:]
    assert typed(app, session, data["keypad"]) is PinOutcome.OK


@pytest.mark.usefixtures("acme")
def test_one_time_pin_with_expiry(runner: Any, app: Flask, session: Session) -> None:
    data = issue(runner, "--kind", "one-time", "--expires-in-days", "2")
    assert data["kind"] == "one_time" and data["expires_at"] is not None
    assert typed(app, session, data["pin"]) is PinOutcome.OK
    assert typed(app, session, data["pin"], call="CA-again") is PinOutcome.USED


@pytest.mark.usefixtures("acme")
def test_renew_replaces_the_pin(runner: Any, app: Flask, session: Session) -> None:
    old = issue(runner, "--kind", "standing")
    result = runner.invoke("pins", "renew", "Acme", "--json")
    assert result.exit_code == 0, result.output
    new = json.loads(result.output)
    assert new["pin"] != old["pin"]
    assert typed(app, session, old["pin"]) is PinOutcome.UNKNOWN
    assert typed(app, session, new["pin"]) is PinOutcome.OK


@pytest.mark.usefixtures("acme")
def test_clear_stops_the_pin_and_says_so(runner: Any, app: Flask, session: Session) -> None:
    pin = issue(runner, "--kind", "standing")["pin"]
    result = runner.invoke("pins", "clear", "Acme")
    assert result.exit_code == 0 and "no longer work" in result.output
    assert typed(app, session, pin) is PinOutcome.UNKNOWN
    again = runner.invoke("pins", "clear", "Acme")
    assert again.exit_code == 1
    assert again.output.strip() == "Error: Acme has no working standing PIN to clear"


@pytest.mark.usefixtures("acme")
def test_clear_all_stops_every_kind(runner: Any, app: Flask, session: Session) -> None:
    pins = [issue(runner, "--kind", kind)["keypad"] for kind in ("one-time", "privileged")]
    result = runner.invoke("pins", "clear", "Acme", "--all", "--json")
    assert result.exit_code == 0
    assert sorted(p["kind"] for p in json.loads(result.output)["cleared"]) == [
        "one_time",
        "privileged",
    ]
    assert [typed(app, session, keys, call=keys) for keys in pins] == [PinOutcome.UNKNOWN] * 2


@pytest.mark.usefixtures("acme")
def test_list_shows_status_but_never_digits(runner: Any) -> None:
    shown = [issue(runner, "--kind", "standing")["pin"]]
    shown.append(json.loads(runner.invoke("pins", "renew", "Acme", "--json").output)["pin"])
    shown.append(issue(runner, "--kind", "privileged")["pin"])
    as_json = runner.invoke("pins", "list", "Acme", "--json")
    human = runner.invoke("pins", "list", "Acme")
    assert as_json.exit_code == 0 and human.exit_code == 0
    rows = json.loads(as_json.output)["pins"]
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("privileged", "active"),
        ("standing", "active"),
        ("standing", "cleared"),
    ]
    assert "3 PIN(s)" in human.output
    for pin in shown:
        assert pin not in as_json.output and pin not in human.output
        assert pin.lstrip("p") not in as_json.output and pin.lstrip("p") not in human.output


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("issue", "Nobody", "--kind", "standing"), "no account named 'Nobody'", id="no-account"
        ),
        pytest.param(("renew", "Nobody"), "no account named 'Nobody'", id="renew-no-account"),
        pytest.param(("list", "Nobody"), "no account named 'Nobody'", id="list-no-account"),
        pytest.param(
            ("issue", "Acme", "--kind", "privileged", "--expires-in-days", "3"),
            "always lives 24 hours",
            id="privileged-expiry",
        ),
    ],
)
def test_bad_input_is_one_clear_line(runner: Any, args: tuple[str, ...], message: str) -> None:
    result = runner.invoke("pins", *args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip() == f"Error: {message}" or message in result.output.strip()
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.usefixtures("acme")
def test_second_standing_pin_is_refused(runner: Any) -> None:
    issue(runner, "--kind", "standing")
    result = runner.invoke("pins", "issue", "Acme", "--kind", "standing")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: Acme already has a standing PIN; renew it to replace it"
    )


@pytest.mark.usefixtures("acme")
@pytest.mark.parametrize(
    "args",
    [("--kind", "gold"), ("--expires-in-days", "0"), ("--expires-in-days", "soon")],
    ids=["bad-kind", "zero-days", "not-a-number"],
)
def test_bad_options_are_usage_errors(runner: Any, args: tuple[str, ...]) -> None:
    result = runner.invoke("pins", "issue", "Acme", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["issue", "renew", "clear", "list"])
def test_every_command_has_help(runner: Any, command: str) -> None:
    result = runner.invoke("pins", command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output and "ACCOUNT" in result.output
