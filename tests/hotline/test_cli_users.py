"""`hotline engineers list` and `hotline users list/update/create`: linking logins."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_token
from models.users import ApiToken, User, UserRole


def test_engineers_list_gives_the_ids_to_link(runner: Any) -> None:
    added = runner.invoke("engineers", "add", "--name", "Lee Park", "--phone", "+15550103333")
    assert added.exit_code == 0, added.output
    listed = runner.invoke("engineers", "list")
    assert listed.exit_code == 0
    assert "Lee Park" in listed.output and "no dashboard user" in listed.output
    data = json.loads(runner.invoke("engineers", "list", "--json").output)
    (lee,) = data["engineers"]
    assert lee["name"] == "Lee Park" and lee["phone"] == "+15550103333" and lee["user"] is None


def test_users_update_links_an_engineer_and_lists_it(runner: Any, session: Session) -> None:
    runner.invoke("engineers", "add", "--name", "Lee Park", "--phone", "+15550103333")
    lee_id = json.loads(runner.invoke("engineers", "list", "--json").output)["engineers"][0]["id"]
    made = runner.invoke(
        "users", "create", "boss", "--password", "long enough pw", "--role", "manager"
    )
    assert made.exit_code == 0, made.output
    made = runner.invoke(
        "users", "create", "lee", "--password", "long enough pw", "--role", "engineer"
    )
    assert made.exit_code == 0, made.output
    result = runner.invoke("users", "update", "lee", "--engineer-id", str(lee_id))
    assert result.exit_code == 0, result.output
    assert f"engineer: none -> {lee_id}" in result.output
    assert "user lee" in runner.invoke("engineers", "list").output
    users = json.loads(runner.invoke("users", "list", "--json").output)["users"]
    assert {u["username"]: u["engineer_id"] for u in users} == {"boss": None, "lee": lee_id}


def test_users_update_refuses_an_unknown_engineer_and_the_last_manager(runner: Any) -> None:
    runner.invoke("users", "create", "boss", "--password", "long enough pw")
    unknown = runner.invoke("users", "update", "boss", "--engineer-id", "999")
    assert unknown.exit_code == 1
    assert "no engineer with id 999 (see: hotline engineers list)" in unknown.output
    last = runner.invoke("users", "update", "boss", "--role", "engineer")
    assert last.exit_code == 1 and "boss is the last active manager" in last.output
    nothing = runner.invoke("users", "update", "boss")
    assert nothing.exit_code == 2 and "say what to change" in nothing.output


def test_deactivating_from_the_cli_ends_tokens(runner: Any, session: Session) -> None:
    runner.invoke("users", "create", "boss", "--password", "long enough pw")
    runner.invoke("users", "create", "eve", "--password", "long enough pw", "--role", "engineer")
    eve = session.scalar(select(User).where(User.username == "eve"))
    assert eve is not None
    create_token(session, eve, "script")
    session.commit()
    result = runner.invoke("users", "update", "eve", "--inactive")
    assert result.exit_code == 0 and "eve: deactivated." in result.output
    session.expire_all()
    token = session.scalar(select(ApiToken))
    assert token is not None and token.revoked_at is not None
    assert session.scalar(select(User.role).where(User.username == "eve")) is UserRole.ENGINEER


def test_users_create_says_the_password_rule_before_it_is_typed(runner: Any) -> None:
    # A short password is refused at once (before the repeat), then a good one is accepted.
    result = runner.invoke(
        "users", "create", "boss", input="short\nlong enough pw\nlong enough pw\n"
    )
    assert result.exit_code == 0, result.output
    first_prompt = result.output.splitlines()[0]
    assert first_prompt.startswith("Password (at least 10 characters):")
    assert "password must be at least 10 characters; try again" in result.output
    assert result.output.count("Repeat the password") == 1
