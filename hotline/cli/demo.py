"""Command: load a demo data set so a newcomer can place a call at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select

from directory import add_contact, create_account
from entitlement.licences import issue_licence
from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from hotline.cli.base import cli, current_app_of, emit, json_option, session_scope
from kernel.config import settings_of
from models import Account, LicenceKind, PinKind
from routing.store import load_demo_routing

ENTITLED = "Acme Corp"
EXPIRED = "Globex"


@cli.command("demo")
@json_option
@click.pass_context
def demo(ctx: click.Context, as_json: bool) -> None:
    """Load demo accounts (one entitled, one expired), engineers and an on-call rotation."""

    policy = PinPolicy.from_settings(settings_of(current_app_of(ctx)))
    now = datetime.now(UTC)
    with session_scope(ctx) as session:
        if session.scalar(select(Account).where(Account.name == ENTITLED)) is not None:
            raise click.ClickException(
                f"demo data is already loaded; for a new PIN run: hotline pins renew '{ENTITLED}'"
            )
        acme = create_account(session, ENTITLED, ["db"])
        add_contact(session, acme, "Ann Ops", "+15005550201", "ann.ops@acme.example")
        issue_licence(session, acme, LicenceKind.USER, 10, now - timedelta(days=30))
        issue_licence(session, acme, LicenceKind.SUPPORT, 10, now - timedelta(days=30))
        acme_pin = issue_pin(session, acme, PinKind.STANDING, now, policy)

        globex = create_account(session, EXPIRED, ["db", "cloud"])
        add_contact(session, globex, "Hank Scorpio", "+15005550202", "hank@globex.example")
        issue_licence(session, globex, LicenceKind.USER, 5, now - timedelta(days=800))
        issue_licence(session, globex, LicenceKind.SUPPORT, 5, now - timedelta(days=400))
        globex_pin = issue_pin(session, globex, PinKind.STANDING, now, policy)

        routing = load_demo_routing(session, now)
        engineer_names = [engineer.name for engineer in routing.config.engineers.values()]
        session.commit()
        data = {
            "accounts": [
                {"name": ENTITLED, "entitled": True, "pin": acme_pin.display},
                {"name": EXPIRED, "entitled": False, "pin": globex_pin.display},
            ],
            "engineers": engineer_names,
        }
    emit(
        as_json,
        data,
        "\n".join(
            [
                "Demo data loaded. These PINs are shown once; they cannot be shown again.",
                f"  {ENTITLED} (entitled):              PIN {acme_pin.display}",
                f"  {EXPIRED} (support licences expired): PIN {globex_pin.display}",
                f"  Engineers on a weekly rotation: {', '.join(engineer_names)}",
                "",
                f"Place a test call: .venv/bin/hotline call --keys {acme_pin.keypad_entry},1",
            ]
        ),
    )
