"""Commands: pins (issue, renew, clear, list); a PIN's digits are printed once, at issue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from directory import DirectoryError, find_account
from entitlement import (
    IssuedPin,
    PinError,
    PinPolicy,
    clear_pins,
    issue_pin,
    list_pins,
    renew_standing_pin,
)
from hotline.cli.base import cli, current_app_of, emit, json_option, session_scope
from kernel.config import settings_of
from models import Account, PinKind, utcnow

_KINDS = {
    "standing": PinKind.STANDING,
    "one-time": PinKind.ONE_TIME,
    "privileged": PinKind.PRIVILEGED,
}
_NOT_AGAIN = "Give it to the customer now: it is stored only as a hash and cannot be shown again."

expires_option = click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=None,
    help="Stop the PIN working after this many days (privileged PINs always live 24 hours).",
)


@cli.group()
def pins() -> None:
    """Issue, renew, clear and list an account's support PINs."""


@pins.command("issue")
@click.argument("account")
@click.option(
    "--kind",
    type=click.Choice(list(_KINDS)),
    default="standing",
    show_default=True,
    help="standing: the account's PIN; one-time: works once; privileged: grants elevated access.",
)
@expires_option
@json_option
@click.pass_context
def issue_command(
    ctx: click.Context, account: str, kind: str, expires_in_days: int | None, as_json: bool
) -> None:
    """Issue a PIN to ACCOUNT (a name or id) and print it once."""
    policy = _policy(ctx)
    with session_scope(ctx) as session:
        found = _find(session, account)
        try:
            issued = issue_pin(
                session, found, _KINDS[kind], utcnow(), policy, _days(expires_in_days)
            )
        except PinError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        _show(as_json, found, issued, f"New {kind} PIN")


@pins.command("renew")
@click.argument("account")
@expires_option
@json_option
@click.pass_context
def renew_command(
    ctx: click.Context, account: str, expires_in_days: int | None, as_json: bool
) -> None:
    """Replace ACCOUNT's standing PIN; the old one stops working at once."""
    policy = _policy(ctx)
    with session_scope(ctx) as session:
        found = _find(session, account)
        try:
            issued = renew_standing_pin(session, found, utcnow(), policy, _days(expires_in_days))
        except PinError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        _show(as_json, found, issued, "Renewed standing PIN")


@pins.command("clear")
@click.argument("account")
@click.option("--all", "clear_all", is_flag=True, help="Also clear one-time and privileged PINs.")
@json_option
@click.pass_context
def clear_command(ctx: click.Context, account: str, clear_all: bool, as_json: bool) -> None:
    """Stop ACCOUNT's standing PIN (or, with --all, every PIN) working at once."""
    kinds = tuple(_KINDS.values()) if clear_all else (PinKind.STANDING,)
    with session_scope(ctx) as session:
        found = _find(session, account)
        cleared = clear_pins(session, found, utcnow(), kinds)
        if not cleared:
            what = "working PINs" if clear_all else "working standing PIN"
            raise click.ClickException(f"{found.name} has no {what} to clear")
        session.commit()
        emit(
            as_json,
            {
                "account": found.name,
                "cleared": [{"id": p.id, "kind": p.kind.value} for p in cleared],
            },
            f"Cleared {len(cleared)} PIN(s) of {found.name}; they no longer work.",
        )


@pins.command("list")
@click.argument("account")
@json_option
@click.pass_context
def list_command(ctx: click.Context, account: str, as_json: bool) -> None:
    """List ACCOUNT's PINs with kind, status and dates (never the digits)."""
    with session_scope(ctx) as session:
        found = _find(session, account)
        rows = list_pins(session, found, utcnow())
        data = {
            "account": found.name,
            "pins": [
                {
                    "id": row.id,
                    "kind": row.kind.value,
                    "status": row.status,
                    "created_at": row.created_at.isoformat(),
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                    "used_at": row.used_at.isoformat() if row.used_at else None,
                    "cleared_at": row.cleared_at.isoformat() if row.cleared_at else None,
                }
                for row in rows
            ],
        }
        lines = [f"{found.name}: {len(rows)} PIN(s)"] + [
            f"  #{row.id} {row.kind.value} {row.status}, issued {row.created_at:%Y-%m-%d %H:%M}"
            + (f", expires {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "")
            for row in rows
        ]
        emit(as_json, data, "\n".join(lines))


def _policy(ctx: click.Context) -> PinPolicy:
    try:
        return PinPolicy.from_settings(settings_of(current_app_of(ctx)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _find(session: Session, account: str) -> Account:
    try:
        return find_account(session, account)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None


def _days(days: int | None) -> timedelta | None:
    return None if days is None else timedelta(days=days)


def _show(as_json: bool, account: Account, issued: IssuedPin, title: str) -> None:
    pin = issued.pin
    expiry = f", works until {pin.expires_at:%Y-%m-%d %H:%M} UTC" if pin.expires_at else ""
    data: dict[str, Any] = {
        "account": account.name,
        "id": pin.id,
        "kind": pin.kind.value,
        "pin": issued.display,
        "keypad": issued.keypad_entry,
        "expires_at": pin.expires_at.isoformat() if pin.expires_at else None,
        "note": _NOT_AGAIN,
    }
    keypad = (
        f" (typed on the keypad as {issued.keypad_entry})" if pin.kind is PinKind.PRIVILEGED else ""
    )
    human = f"{title} for {account.name}: {issued.display}{keypad}{expiry}.\n{_NOT_AGAIN}"
    emit(as_json, data, human)
