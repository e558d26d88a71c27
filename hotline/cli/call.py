"""Command: place a call into a running hotline through the phone simulator."""

from __future__ import annotations

import sys

import click

from hotline import service_file
from hotline.cli.base import cli
from kernel.config import ConfigError, load_settings
from simulator import terminal


@cli.command("call")
@click.option("--keys", help="Keys for each prompt, comma-separated, e.g. 12345678,1 (else typed).")
@click.option(
    "--url",
    "service_url",
    help="Where the hotline listens (default: what the running `make run` recorded).",
)
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
    running = service_file.read(settings.data_dir)
    url = service_url or (running.url if running else f"http://127.0.0.1:{settings.port}")
    rest_port = running.simulator_port if running else settings.simulator_port
    if not service_file.answering(url):
        raise click.ClickException(
            service_file.NOT_RUNNING if service_url is None else f"nothing answers at {url}"
        )
    try:
        status = terminal.run(
            url,
            running.public_base_url if running else settings.public_base_url,
            settings.twilio_auth_token,
            settings.twilio_account_sid,
            from_number,
            settings.hotline_number,
            keys=keys,
            engineers=engineers,
            rest_port=rest_port,
        )
    except OSError as exc:
        if not service_file.port_is_free(rest_port):
            raise click.ClickException(
                f"port {rest_port} (the phone simulator's) is in use by another program: stop it, "
                "or start the hotline with SIMULATOR_PORT set to a free port"
            ) from None
        raise click.ClickException(f"the call could not be placed: {exc}") from None
    sys.exit(status)
