"""Dashboard fixtures: users of each role, signed-in clients, API tokens and seeded tickets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import models.users  # noqa: F401 - registers the dashboard tables before the schema is used
from dashboard.users import create_token, create_user
from directory import add_contact, create_account
from entitlement.licences import issue_licence
from entitlement.pins import renew_standing_pin
from entitlement.policy import PinPolicy
from ivr import engineer_flow, flow
from ivr.flow import FlowConfig
from kernel.config import settings_of
from kernel.twilio_fields import CallStatus
from models import (
    Account,
    Engineer,
    LicenceKind,
    Notification,
    NotificationChannel,
    NotificationStatus,
    Ticket,
    TicketOutcome,
    TicketStatus,
)
from models.users import UserRole
from routing import ringing
from tickets.calls import open_call

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def manager(session: Session) -> Any:
    user = create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    return user


@pytest.fixture
def engineer_user(session: Session) -> Any:
    eng = Engineer(name="Erik Engineer", phone="+15550001111")
    session.add(eng)
    session.flush()
    user = create_user(session, "erik", "Erik Engineer", PASSWORD, UserRole.ENGINEER, eng.id)
    session.commit()
    return user


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (made by visiting any page)."""
    client.get("/dashboard/login")
    with client.session_transaction() as sess:
        return str(sess["csrf_token"])


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Post the sign-in form as a browser would."""
    return client.post(
        "/dashboard/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )


class Browser:
    """A signed-in test client that adds the CSRF token to every form post."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        with self.client.session_transaction() as sess:
            token = sess.get("csrf_token", "")
        return self.client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def as_manager(client: FlaskClient, manager: Any) -> Browser:
    assert sign_in(client, "maria").status_code == 302
    return Browser(client)


@pytest.fixture
def as_engineer(client: FlaskClient, engineer_user: Any) -> Browser:
    assert sign_in(client, "erik").status_code == 302
    return Browser(client)


@pytest.fixture
def manager_token(session: Session, manager: Any) -> str:
    secret = create_token(session, manager, "tests").secret
    session.commit()
    return secret


@pytest.fixture
def engineer_token(session: Session, engineer_user: Any) -> str:
    secret = create_token(session, engineer_user, "tests").secret
    session.commit()
    return secret


CALLER = "+15551234567"
ONCALL = "+15005550101"
WRONG_PIN = "12345678"


def acme_pin(app: Flask, session: Session, start: datetime) -> str:
    """Acme Corp (one product, entitled at `start`) and the keys of its standing PIN."""
    account = session.scalar(select(Account).where(Account.name == "Acme Corp"))
    if account is None:
        account = create_account(session, "Acme Corp", ["router"])
        add_contact(session, account, "Carol Caller", CALLER, "carol@acme.test")
        issue_licence(session, account, LicenceKind.SUPPORT, 5, start - timedelta(days=10))
    policy = PinPolicy.from_settings(settings_of(app))
    return renew_standing_pin(session, account, start - timedelta(days=1), policy).keypad_entry


def flow_config(app: Flask) -> FlowConfig:
    """The call flow's settings, with one on-call number to ring (no routing loaded)."""
    settings = settings_of(app)
    return FlowConfig(
        pin_policy=PinPolicy.from_settings(settings),
        oncall_number=ONCALL,
        emergency_number=None,
        account_management_number=None,
        customer_portal=settings.customer_portal_url,
    )


def deliver_follow_ups(session: Session, ticket: Ticket) -> None:
    """What the worker and Twilio's receipts do to a ticket's queued follow-ups (3 s later)."""
    for row in session.scalars(select(Notification).where(Notification.ticket_id == ticket.id)):
        sms = row.channel is NotificationChannel.SMS
        row.status = NotificationStatus.DELIVERED if sms else NotificationStatus.SENT
        row.sent_at = row.created_at + timedelta(seconds=3)


def seed_call_ticket(
    app: Flask, session: Session, start: datetime = T0, *, accepted: bool = True
) -> Ticket:
    """A severity-1 call placed through the call flow's own functions, at known instants.

    The caller types a wrong PIN (9 s), the right one (14 s), chooses severity 1 (20 s); the
    on-call phone rings (21 s) and answers (28 s); the engineer presses 1 (32 s) and the call
    ends after 300 s, when the caller's SMS is queued and (at 303 s) delivered. With
    `accepted=False` the engineer never answers and the caller hangs up at 60 s.
    """
    with app.app_context():
        keys = acme_pin(app, session, start)
        config = flow_config(app)

        def at(seconds: int) -> datetime:
            return start + timedelta(seconds=seconds)

        call = open_call(session, f"CA{uuid.uuid4().hex}", CALLER, "+15005550006", at(0))
        flow.on_pin(session, call, WRONG_PIN, at(9), config)
        flow.on_pin(session, call, keys, at(14), config)
        flow.on_severity(session, call, "1", at(20), config)
        session.flush()
        attempt = ringing.attempts_of(session, call)[0]
        engineer_flow.engineer_leg_status(session, attempt, CallStatus.RINGING, at(21))
        length = 60
        if accepted:
            engineer_flow.engineer_leg_status(session, attempt, CallStatus.IN_PROGRESS, at(28))
            engineer_flow.engineer_answered(session, attempt, at(28))
            engineer_flow.engineer_pressed(session, attempt, "1", at(32))
            length = 300
        flow.on_status(session, call, CallStatus.COMPLETED, length, at(length))
        session.flush()
        ticket = call.ticket
        deliver_follow_ups(session, ticket)
        session.commit()
        return ticket


@pytest.fixture
def call_ticket(app: Flask, session: Session) -> Ticket:
    return seed_call_ticket(app, session)


@pytest.fixture
def many_tickets(app: Flask, session: Session) -> list[Ticket]:
    """A mix of tickets to search, filter and page through."""
    seed_call_ticket(app, session)
    account = session.query(Account).filter_by(name="Acme Corp").one()
    other = Account(name="Globex")
    session.add(other)
    session.flush()
    rows = []
    for i in range(60):
        rows.append(
            Ticket(
                account=other if i % 2 else account,
                severity=1 + i % 3,
                category="email" if i % 5 == 0 else "phone",
                subject=f"Printer jam {i}" if i % 10 == 0 else f"Slow login {i}",
                description="transcription: the printer is on fire" if i == 30 else "",
                status=[TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED][i % 3],
                outcome=TicketOutcome.REFUSED if i % 7 == 0 else TicketOutcome.MESSAGE,
                refusal_reason="not entitled" if i % 7 == 0 else None,
                contact_phone=f"+1555999{i:04d}",
                created_at=T0 - timedelta(hours=i + 1),
            )
        )
    session.add_all(rows)
    session.commit()
    return rows
