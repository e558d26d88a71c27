"""Commands: licences (issue, list) and the entitlement an account's licences give it."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.orm import Session

from directory import DirectoryError, find_account
from entitlement import LicenceError, check_entitlement, issue_licence, list_licences
from hotline.cli.base import cli, current_app_of, emit, json_option, session_scope
from kernel.config import settings_of
from models import Account, Licence, LicenceKind, utcnow


@cli.group()
def licences() -> None:
    """Issue and list an account's user and support licences."""


@licences.command("issue")
@click.argument("account")
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in LicenceKind]),
    required=True,
    help="user: people using the product; support: entitles that many users to support.",
)
@click.option("--quantity", type=int, required=True, help="How many licences.")
@click.option(
    "--days",
    type=int,
    default=None,
    help="Term in days (support default: SUPPORT_LICENCE_DAYS; user default: never expires).",
)
@json_option
@click.pass_context
def issue_command(
    ctx: click.Context, account: str, kind: str, quantity: int, days: int | None, as_json: bool
) -> None:
    """Issue licences to ACCOUNT (a name or id)."""
    settings = settings_of(current_app_of(ctx))
    with session_scope(ctx) as session:
        try:
            found = find_account(session, account)
            licence = issue_licence(
                session,
                found,
                LicenceKind(kind),
                quantity,
                utcnow(),
                term_days=days,
                support_licence_days=settings.support_licence_days,
            )
        except (DirectoryError, LicenceError) as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        expiry = (
            f"expiring {licence.expires_at:%Y-%m-%d %H:%M} UTC"
            if licence.expires_at
            else "never expiring"
        )
        emit(
            as_json,
            _licence_data(found, licence),
            f"Issued {quantity} {kind} licence(s) to {found.name}, {expiry}.",
        )


@licences.command("list")
@click.argument("account")
@json_option
@click.pass_context
def list_command(ctx: click.Context, account: str, as_json: bool) -> None:
    """List ACCOUNT's licences, current and expired."""
    now = utcnow()
    with session_scope(ctx) as session:
        found = _find(session, account)
        rows = list_licences(session, found)
        data = {
            "account": found.name,
            "licences": [
                {**_licence_data(found, lic), "current": lic.is_current(now)} for lic in rows
            ],
        }
        lines = [f"{found.name}: {len(rows)} licence record(s)"] + [
            f"  #{lic.id} {lic.quantity} x {lic.kind.value}, issued {lic.issued_at:%Y-%m-%d}, "
            + (f"expires {lic.expires_at:%Y-%m-%d}" if lic.expires_at else "never expires")
            + ("" if lic.is_current(now) else " (not current)")
            for lic in rows
        ]
        emit(as_json, data, "\n".join(lines))


@cli.command("entitlement")
@click.argument("account")
@json_option
@click.pass_context
def entitlement_command(ctx: click.Context, account: str, as_json: bool) -> None:
    """Say whether ACCOUNT is entitled to support now, and if not, why."""
    with session_scope(ctx) as session:
        found = _find(session, account)
        verdict = check_entitlement(session, found, utcnow())
        data = {
            "account": found.name,
            "entitled": verdict.entitled,
            "reason": verdict.reason,
            "support_licences": verdict.support_licences,
            "user_licences": verdict.user_licences,
        }
        human = (
            f"{found.name} is entitled to support."
            if verdict.entitled
            else f"{found.name} is not entitled to support: {verdict.reason}."
        )
        emit(as_json, data, human)


def _find(session: Session, account: str) -> Account:
    try:
        return find_account(session, account)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None


def _licence_data(account: Account, licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.id,
        "account": account.name,
        "kind": licence.kind.value,
        "quantity": licence.quantity,
        "issued_at": licence.issued_at.isoformat(),
        "expires_at": licence.expires_at.isoformat() if licence.expires_at else None,
    }
