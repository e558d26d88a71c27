"""`hotline` commands that create accounts, contacts, products and engineers."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, Engineer


def test_create_account_with_products_prints_json(runner: Any, session: Session) -> None:
    result = runner.invoke("accounts", "create", "Acme Corp", "--product", "db", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "Acme Corp" and data["products"] == ["db"]
    assert session.scalars(select(Account.name)).all() == ["Acme Corp"]


def test_duplicate_account_is_one_clear_line(runner: Any) -> None:
    runner.invoke("accounts", "create", "Acme")
    result = runner.invoke("accounts", "create", "acme")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: an account named 'acme' already exists"


def test_contact_phone_is_normalised(runner: Any) -> None:
    runner.invoke("accounts", "create", "Acme")
    result = runner.invoke(
        "contacts", "create", "Acme", "--name", "Ann Ops", "--phone", "(415) 555-0101", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["phone"] == "+14155550101"


def test_contact_for_unknown_account_is_refused(runner: Any) -> None:
    result = runner.invoke("contacts", "create", "Nobody Inc", "--name", "X")
    assert result.exit_code == 1 and "no account named 'Nobody Inc'" in result.output


def test_engineer_needs_a_real_phone_and_time_zone(runner: Any, session: Session) -> None:
    bad_phone = runner.invoke("engineers", "add", "--name", "Eve", "--phone", "12")
    bad_zone = runner.invoke(
        "engineers", "add", "--name", "Eve", "--phone", "+14155550199", "--timezone", "Mars/Base"
    )
    good = runner.invoke(
        "engineers",
        "add",
        "--name",
        "Eve",
        "--phone",
        "+1 415 555 0199",
        "--timezone",
        "Europe/London",
        "--json",
    )
    assert bad_phone.exit_code == 1 and "wrong number of digits" in bad_phone.output
    assert bad_zone.exit_code == 1 and "not a time zone" in bad_zone.output
    assert good.exit_code == 0 and json.loads(good.output)["phone"] == "+14155550199"
    assert session.scalars(select(Engineer.name)).all() == ["Eve"]


def test_every_command_has_help(runner: Any) -> None:
    from hotline.cli import cli

    def walk(group: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, command in getattr(group, "commands", {}).items():
            found += walk(command, [*path, name])
        return found

    for path in walk(cli, []):
        result = runner.invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_an_accounts_time_zone_is_set_checked_and_reset(runner: Any, session: Session) -> None:
    made = runner.invoke("accounts", "create", "Paris SA", "--timezone", "Europe/Paris", "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["timezone"] == "Europe/Paris"
    wrong = runner.invoke("accounts", "set-timezone", "Paris SA", "Mars/Olympus")
    assert wrong.exit_code != 0 and "not a time zone name" in wrong.output
    reset = runner.invoke("accounts", "set-timezone", "Paris SA")
    assert reset.exit_code == 0 and "HOTLINE_TIMEZONE" in reset.output
    session.expire_all()
    account = session.scalars(select(Account).where(Account.name == "Paris SA")).one()
    assert account.timezone is None
