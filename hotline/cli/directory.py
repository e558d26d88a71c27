"""Commands: accounts, contacts, products and engineers."""

from __future__ import annotations

import click
from sqlalchemy import select

from directory import (
    DirectoryError,
    add_contact,
    add_engineer,
    create_account,
    ensure_product,
    find_account,
    set_account_timezone,
)
from hotline.cli.base import cli, emit, json_option, session_scope
from kernel.phones import InvalidPhoneNumber
from models import Engineer
from models.users import User


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@cli.group()
def accounts() -> None:
    """Customer accounts."""


@accounts.command("create")
@click.argument("name")
@click.option("--product", "products", multiple=True, help="Product code (repeatable).")
@click.option(
    "--timezone", help="IANA time zone for the customer's messages (default: HOTLINE_TIMEZONE)."
)
@json_option
@click.pass_context
def accounts_create(
    ctx: click.Context, name: str, products: tuple[str, ...], timezone: str | None, as_json: bool
) -> None:
    """Create an account NAME, optionally with the products it uses."""
    with session_scope(ctx) as session:
        try:
            account = create_account(session, name, list(products))
            set_account_timezone(account, timezone)
        except DirectoryError as exc:
            raise _fail(exc) from None
        session.commit()
        data = {
            "id": account.id,
            "name": account.name,
            "products": [p.code for p in account.products],
            "timezone": account.timezone,
        }
    emit(as_json, data, f"Created account {data['name']} (id {data['id']}).")


@accounts.command("set-timezone")
@click.argument("account")
@click.argument("timezone", required=False)
@click.pass_context
def accounts_set_timezone(ctx: click.Context, account: str, timezone: str | None) -> None:
    """Set ACCOUNT's time zone for its messages (IANA name; none resets to HOTLINE_TIMEZONE)."""
    with session_scope(ctx) as session:
        try:
            found = find_account(session, account)
            set_account_timezone(found, timezone)
        except DirectoryError as exc:
            raise _fail(exc) from None
        session.commit()
        click.echo(f"{found.name}: messages use {found.timezone or 'HOTLINE_TIMEZONE'}.")


@cli.group()
def contacts() -> None:
    """People at customer accounts."""


@contacts.command("create")
@click.argument("account")
@click.option("--name", required=True, help="The contact's full name.")
@click.option("--phone", help="Phone number; E.164 (+15551234567) or a US number.")
@click.option("--email", help="Email address.")
@click.option("--technical/--not-technical", default=True, help="Technical contact for tickets.")
@json_option
@click.pass_context
def contacts_create(
    ctx: click.Context,
    account: str,
    name: str,
    phone: str | None,
    email: str | None,
    technical: bool,
    as_json: bool,
) -> None:
    """Add a contact to ACCOUNT (name or id)."""
    with session_scope(ctx) as session:
        try:
            contact = add_contact(
                session, find_account(session, account), name, phone, email, technical
            )
        except (DirectoryError, InvalidPhoneNumber) as exc:
            raise _fail(exc) from None
        session.commit()
        data = {
            "id": contact.id,
            "account": contact.account.name,
            "name": contact.name,
            "phone": contact.phone,
            "email": contact.email,
            "technical": contact.is_technical,
        }
    emit(as_json, data, f"Added {data['name']} to {data['account']}.")


@cli.group()
def products() -> None:
    """Products customers get support for."""


@products.command("create")
@click.argument("code")
@click.option("--name", help="Display name (defaults from the code).")
@json_option
@click.pass_context
def products_create(ctx: click.Context, code: str, name: str | None, as_json: bool) -> None:
    """Create product CODE (no-op when it exists)."""
    with session_scope(ctx) as session:
        try:
            product = ensure_product(session, code, name)
        except DirectoryError as exc:
            raise _fail(exc) from None
        session.commit()
        data = {"id": product.id, "code": product.code, "name": product.name}
    emit(as_json, data, f"Product {data['code']} ({data['name']}).")


@cli.group()
def engineers() -> None:
    """On-call engineers."""


@engineers.command("add")
@click.option("--name", required=True, help="Full name.")
@click.option("--phone", required=True, help="Phone number that rings them (E.164).")
@click.option("--email", help="Email address.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone name.")
@json_option
@click.pass_context
def engineers_add(
    ctx: click.Context, name: str, phone: str, email: str | None, timezone: str, as_json: bool
) -> None:
    """Add an on-call engineer."""
    with session_scope(ctx) as session:
        try:
            engineer = add_engineer(session, name, phone, email, timezone)
        except (DirectoryError, InvalidPhoneNumber) as exc:
            raise _fail(exc) from None
        session.commit()
        data = {
            "id": engineer.id,
            "name": engineer.name,
            "phone": engineer.phone,
            "email": engineer.email,
            "timezone": engineer.timezone,
        }
    emit(as_json, data, f"Added engineer {data['name']} ({data['phone']}).")


@engineers.command("list")
@json_option
@click.pass_context
def engineers_list(ctx: click.Context, as_json: bool) -> None:
    """List engineers with their ids (to link a dashboard user: hotline users update)."""
    with session_scope(ctx) as session:
        rows = session.scalars(select(Engineer).order_by(Engineer.name)).all()
        linked = dict(
            session.execute(
                select(User.engineer_id, User.username).where(User.engineer_id.is_not(None))
            ).all()
        )
        data = {
            "engineers": [
                {
                    "id": e.id,
                    "name": e.name,
                    "phone": e.phone,
                    "email": e.email,
                    "timezone": e.timezone,
                    "active": e.active,
                    "user": linked.get(e.id),
                }
                for e in rows
            ]
        }
    lines = [
        f"{e['id']:>4}  {e['name']:<24} {e['phone']:<16} {e['timezone']:<20} "
        f"{('user ' + str(e['user'])) if e['user'] else 'no dashboard user'}"
        + ("" if e["active"] else "  (inactive)")
        for e in data["engineers"]
    ]
    header = f"{'id':>4}  {'name':<24} {'phone':<16} {'time zone':<20} dashboard user"
    emit(
        as_json,
        data,
        "\n".join([header, *lines])
        if lines
        else "No engineers yet: hotline engineers add --name ... --phone ...",
    )
