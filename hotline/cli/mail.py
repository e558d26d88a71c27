"""Commands: the SMTP mail intake server, and sending a test email to it."""

from __future__ import annotations

import signal
import smtplib
import threading
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from types import FrameType

import click

from hotline.cli.base import cli, current_app_of
from kernel.config import settings_of
from kernel.services import services_of
from mailin.smtp import make_server


@cli.command("mail-intake")
@click.option("--host", default=None, help="Address to listen on (default $SMTP_INTAKE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default $SMTP_INTAKE_PORT, 2525).")
@click.pass_context
def mail_intake(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the SMTP intake server for the support address(es) until SIGINT or SIGTERM."""
    app = current_app_of(ctx)
    services = services_of(app)
    server = make_server(services, host, port)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"the mail intake could not listen: {exc}") from None
    mail = services.settings.mail
    click.echo(
        f"Mail intake listening on smtp://{server.hostname}:{server.port} "
        f"for {', '.join(mail.addresses)} (messages up to {mail.max_mb} MB)"
    )
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stop.wait()
    finally:
        server.stop()
        click.echo("Mail intake stopped.")


@cli.group("mail")
def mail() -> None:
    """Email support: try the intake."""


@mail.command("send")
@click.option("--to", "to", default=None, help="Recipient (default: the first support address).")
@click.option(
    "--from", "sender", required=True, help="Sender address (a contact's, to open a ticket)."
)
@click.option("--subject", required=True, help='e.g. "PIN 12345678 Workflow stopped".')
@click.option("--body", default="", help="The message text.")
@click.option(
    "--attach", "attachments", multiple=True, type=click.Path(exists=True, dir_okay=False)
)
@click.option("--server", default=None, help="host:port of the intake (default: this service's).")
@click.pass_context
def send(
    ctx: click.Context,
    to: str | None,
    sender: str,
    subject: str,
    body: str,
    attachments: tuple[str, ...],
    server: str | None,
) -> None:
    """Send one email to the running mail intake (as a customer's mail server would)."""
    settings = settings_of(current_app_of(ctx))
    host, _, port = (
        server or f"{settings.mail.intake_host}:{settings.mail.intake_port}"
    ).rpartition(":")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to or settings.mail.reply_address
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body or "(sent with hotline mail send)")
    for path in attachments:
        message.add_attachment(
            Path(path).read_bytes(),
            maintype="application",
            subtype="octet-stream",
            filename=Path(path).name,
        )
    try:
        with smtplib.SMTP(host or "127.0.0.1", int(port), timeout=30) as smtp:
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise click.ClickException(f"the intake refused or could not be reached: {exc}") from None
    if refused:
        raise click.ClickException(f"refused recipients: {refused}")
    click.echo(f"Sent {message['Message-ID']} to {message['To']} via {host}:{port}.")
