"""Mail intake fixtures: the real aiosmtpd intake server, a real SMTP sink for our replies,
customers with PINs, and a worker run in this process (tests.notify's drain)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.services import services_of
from mailin.smtp import make_server
from models import InboundMail, PinKind, Ticket
from tests import factories
from tests.notify.conftest import FAST_ENV, SmtpSink, drain, free_port

SUPPORT = "support@hotline.example.test"
SIGNING_KEY = "key-0123456789abcdef0123456789abcdef"


@dataclass
class Customer:
    account_id: int
    name: str
    email: str
    pin: str  # as the customer writes it in a subject ("p..." for a privileged PIN)


@pytest.fixture
def sink() -> Iterator[tuple[SmtpSink, str]]:
    """Where our own emails (the replies) go: a real SMTP server."""
    found = SmtpSink()
    port = free_port()
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield found, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def mail_overrides() -> dict[str, str]:
    return {}


@pytest.fixture
def app_config(
    app_config: dict[str, Any], sink: tuple[SmtpSink, str], mail_overrides: dict[str, str]
) -> dict[str, Any]:
    app_config.update(FAST_ENV)
    app_config.update(
        SMTP_URL=sink[1],
        MAIL_SUPPORT_ADDRESSES=SUPPORT,
        MAILGUN_WEBHOOK_SIGNING_KEY=SIGNING_KEY,
        HOTLINE_NUMBER="+15005550006",
        NOTIFY_EMAIL_FROM=SUPPORT,
    )
    app_config.update(mail_overrides)
    return app_config


@pytest.fixture
def intake(app: Flask) -> Iterator[tuple[str, int]]:
    """The real SMTP intake server on a free port of 127.0.0.1."""
    server = make_server(services_of(app), "127.0.0.1", free_port())
    server.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.stop()


def customer(
    app: Flask,
    session: Session,
    name: str = "Acme Corp",
    email: str = "ann@acme.test",
    entitled: bool = True,
    kind: PinKind = PinKind.STANDING,
    phone: str = "+14155550100",
) -> Customer:
    """An account with a contact of `email`, licences and a PIN of `kind`."""
    made = factories.account(session, name, ("db",), contact=(f"{name} Ann", phone, email))
    factories.licences(session, made, entitled=entitled)
    issued = factories.pin(app, session, made, kind)
    session.commit()
    return Customer(made.id, name, email, issued.display)


@pytest.fixture
def acme(app: Flask, session: Session) -> Customer:
    return customer(app, session)


def email(
    sender: str,
    subject: str,
    body: str = "The nightly workflow stopped at 02:00.\nAnn, +1 415 555 0100, 9-17 PT.",
    *,
    to: str = SUPPORT,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> EmailMessage:
    """A message as a customer's mail program writes it."""
    message = EmailMessage()
    message["From"] = f"Ann Ops <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="client.test")
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    for filename, data in files or []:
        message.add_attachment(
            data, maintype="application", subtype="octet-stream", filename=filename
        )
    return message


def smtp_send(intake: tuple[str, int], message: EmailMessage, mail_from: str | None = None) -> Any:
    """Send through the intake server with smtplib, as a mail server would."""
    with smtplib.SMTP(*intake, timeout=30) as smtp:
        return smtp.send_message(message, from_addr=mail_from)


def replies_to(sink: tuple[SmtpSink, str], address: str) -> list[Message]:
    return [m for m in sink[0].messages if address in str(m["To"])]


def inbound(session: Session) -> list[InboundMail]:
    session.expire_all()
    return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def tickets(session: Session) -> list[Ticket]:
    session.expire_all()
    return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def run_worker(app: Flask) -> None:
    """Process the queued mail jobs and send every reply (the workers, in this process)."""
    drain(app)
    drain(app)


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode().replace("\r\n", "\n")
