"""Commands: dashboard users (create the first manager, list, reset a password)."""

from __future__ import annotations

import click
from sqlalchemy import select

from dashboard import audit
from dashboard.users import UserError, create_user, set_password
from hotline.cli.base import cli, emit, json_option, session_scope
from models import utcnow
from models.users import User, UserRole


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
@click.password_option(help="Password (asked for, hidden, when not given).")
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
    """List dashboard users."""
    with session_scope(ctx) as session:
        rows = session.scalars(select(User).order_by(User.username)).all()
        data = {
            "users": [
                {"username": u.username, "name": u.name, "role": u.role.value, "active": u.active}
                for u in rows
            ]
        }
    lines = [
        f"{u['username']:<20} {u['role']:<9} {state:<9} {u['name']}"
        for u in data["users"]
        for state in ["active" if u["active"] else "inactive"]
    ]
    emit(as_json, data, "\n".join(lines) or "No users yet: hotline users create <username>")


@users.command("set-password")
@click.argument("username")
@click.password_option(help="New password (asked for, hidden, when not given).")
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
