"""Commands: dashboard users (create the first manager, list, update, reset a password)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select

from dashboard import audit
from dashboard.users import (
    PASSWORD_RULE,
    UserChange,
    UserError,
    check_password_rules,
    create_user,
    set_password,
    update_user,
)
from hotline.cli.base import cli, emit, json_option, session_scope
from models import utcnow
from models.users import User, UserRole


class Password(click.ParamType[str]):
    """A password checked against the rules as soon as it is typed (before the repeat)."""

    name = "password"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            check_password_rules(value)
        except UserError as exc:
            self.fail(f"{exc}; try again", param, ctx)
        return value


def password_option(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--password, asked for hidden (twice) with the rule said before it is typed."""
    return click.option(
        "--password",
        type=Password(),
        prompt=f"{what} ({PASSWORD_RULE})",
        hide_input=True,
        confirmation_prompt="Repeat the password",
        help=f"{what}, {PASSWORD_RULE} (asked for, hidden, when not given).",
    )


@cli.group()
def users() -> None:
    """Dashboard users: managers and engineers."""


@users.command("create")
@click.argument("username")
@click.option("--name", default="", help="Full name (default: the username).")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    default=UserRole.MANAGER.value,
    show_default=True,
)
@password_option("Password")
@click.option("--engineer-id", type=int, default=None, help="Link to an engineer record.")
@json_option
@click.pass_context
def create_command(
    ctx: click.Context,
    username: str,
    name: str,
    role: str,
    password: str,
    engineer_id: int | None,
    as_json: bool,
) -> None:
    """Create a dashboard user (the first one should be a manager)."""
    with session_scope(ctx) as session:
        try:
            user = create_user(session, username, name, password, UserRole(role), engineer_id)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(session, None, "user.created", user.username, role=role, via="cli")
        session.commit()
        data = {"id": user.id, "username": user.username, "role": user.role.value}
    emit(as_json, data, f"Created {role} {data['username']} (id {data['id']}).")


@users.command("list")
@json_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List dashboard users, with their role, engineer link and state."""
    with session_scope(ctx) as session:
        rows = session.scalars(select(User).order_by(User.username)).all()
        data = {"users": [_user_data(u) for u in rows]}
    lines = [
        f"{u['id']:>4}  {u['username']:<20} {u['role']:<9} {state:<9} "
        f"{'engineer #' + str(u['engineer_id']) if u['engineer_id'] else 'no engineer':<14} "
        f"{u['name']}"
        for u in data["users"]
        for state in ["active" if u["active"] else "inactive"]
    ]
    emit(as_json, data, "\n".join(lines) or "No users yet: hotline users create <username>")


@users.command("update")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in UserRole]), help="New role.")
@click.option(
    "--engineer-id",
    type=click.IntRange(min=0),
    help="Link to this engineer (ids: hotline engineers list); 0 unlinks.",
)
@click.option("--active/--inactive", default=None, help="Reactivate, or deactivate (ends access).")
@json_option
@click.pass_context
def update_command(
    ctx: click.Context,
    username: str,
    role: str | None,
    engineer_id: int | None,
    active: bool | None,
    as_json: bool,
) -> None:
    """Change USERNAME's role, engineer link or state."""
    if role is None and engineer_id is None and active is None:
        raise click.UsageError("say what to change: --role, --engineer-id, --active/--inactive")
    with session_scope(ctx) as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user {username!r} (see: hotline users list)")
        change = UserChange(
            role=UserRole(role) if role else None, engineer_id=engineer_id, active=active
        )
        try:
            changes = update_user(session, user, change, utcnow())
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        for what in changes:
            audit.record(session, None, "user.updated", user.username, change=what, via="cli")
        session.commit()
        data = {**_user_data(user), "changes": changes}
    emit(
        as_json,
        data,
        f"{username}: {'; '.join(changes)}." if changes else f"{username}: nothing to change.",
    )


def _user_data(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "role": user.role.value,
        "engineer_id": user.engineer_id,
        "active": user.active,
    }


@users.command("set-password")
@click.argument("username")
@password_option("New password")
@click.pass_context
def set_password_command(ctx: click.Context, username: str, password: str) -> None:
    """Reset USERNAME's password (ends their sessions and API tokens)."""
    with session_scope(ctx) as session:
        user = session.scalar(select(User).where(User.username == username.lower()))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        try:
            set_password(session, user, password, utcnow())
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        audit.record(session, None, "user.password_reset", user.username, via="cli")
        session.commit()
    click.echo(f"Password of {username} changed.")
