"""Command: place a call into a running hotline through the phone simulator."""

from __future__ import annotations

import sys

import click

from hotline.cli.base import cli
from kernel.config import ConfigError, load_settings
from simulator import terminal


@cli.command("call")
@click.option("--keys", help="Keys for each prompt, comma-separated, e.g. 12345678,1 (else typed).")
@click.option("--url", "service_url", help="Where the hotline listens [http://127.0.0.1:$PORT].")
@click.option(
    "--from", "from_number", default="+14155550100", show_default=True, help="The caller's number."
)
@click.option(
    "--engineers",
    type=click.Choice(["auto", "interactive"]),
    default="auto",
    show_default=True,
    help="auto: engineers answer and press 1; interactive: you play them.",
)
def call(keys: str | None, service_url: str | None, from_number: str, engineers: str) -> None:
    """Call the hotline as Twilio would, hear each prompt, and see the call's timeline."""

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    url = service_url or f"http://127.0.0.1:{settings.port}"
    status = terminal.run(
        url,
        settings.public_base_url,
        settings.twilio_auth_token,
        settings.twilio_account_sid,
        from_number,
        settings.hotline_number,
        keys=keys,
        engineers=engineers,
        rest_port=settings.simulator_port,
    )
    sys.exit(status)
