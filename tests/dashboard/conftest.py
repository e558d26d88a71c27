"""Dashboard fixtures: users of each role, signed-in clients, API tokens and seeded tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import models.users  # noqa: F401 - registers the dashboard tables before the schema is used
from dashboard.users import create_token, create_user
from models import (
    Account,
    Call,
    CallEvent,
    Engineer,
    Licence,
    LicenceKind,
    Notification,
    NotificationChannel,
    NotificationStatus,
    Product,
    Ticket,
    TicketOutcome,
    TicketStatus,
)
from models.users import UserRole

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


def seed_call_ticket(session: Session, **overrides: Any) -> Ticket:
    """A severity-1 ticket with a whole call timeline, two ring attempts and an SMS."""
    account = session.query(Account).filter_by(name="Acme Corp").one_or_none()
    if account is None:
        account = Account(name="Acme Corp")
        product = Product(code="router", name="Edge Router")
        account.products.append(product)
        session.add(account)
        session.add(
            Licence(
                account=account,
                kind=LicenceKind.SUPPORT,
                quantity=5,
                issued_at=T0 - timedelta(days=10),
                expires_at=T0 + timedelta(days=355),
            )
        )
        session.flush()
    fields: dict[str, Any] = {
        "account": account,
        "product": account.products[0],
        "contact_name": "Carol Caller",
        "contact_phone": "+15551234567",
        "severity": 1,
        "category": "phone",
        "subject": "Complete outage at Acme",
        "description": "Voicemail: our whole datacentre is down since 8am",
        "status": TicketStatus.OPEN,
        "outcome": TicketOutcome.CONNECTED,
        "created_at": T0,
    }
    fields.update(overrides)
    ticket = Ticket(**fields)
    session.add(ticket)
    session.flush()
    start = fields["created_at"]
    call = Call(
        call_sid=f"CA{ticket.id:032d}",
        ticket_id=ticket.id,
        from_number=fields["contact_phone"] or "",
        to_number="+15005550006",
        status="completed",
        started_at=start,
        ended_at=start + timedelta(seconds=300),
        duration_seconds=300,
    )
    session.add(call)
    session.flush()

    def event(offset: int, kind: str, **detail: Any) -> None:
        session.add(
            CallEvent(
                ticket_id=ticket.id,
                call_id=call.id,
                at=start + timedelta(seconds=offset),
                kind=kind,
                detail=detail,
            )
        )

    event(0, "call_started", caller=fields["contact_phone"])
    event(9, "pin_failed", outcome="unknown", digits="12345678")
    event(14, "pin_ok", pin_kind="standing", account="Acme Corp")
    event(15, "entitlement", entitled=True, reason=None)
    event(20, "severity", severity=1)
    event(
        22,
        "ring_attempt",
        engineer="Bob",
        started="09:00:22",
        ended="09:00:42",
        result="no-answer",
        seconds=20,
    )
    event(
        23,
        "ring_attempt",
        engineer="Dana",
        started="09:00:23",
        ended="09:00:31",
        result="accepted",
        seconds=8,
    )
    event(31, "accepted", engineer="Dana")
    event(32, "bridged", engineer="Dana")
    event(300, "call_completed", duration=300)
    event(301, "vendor_custom_step", widget="blue")
    session.add(
        Notification(
            ticket_id=ticket.id,
            kind="ticket_sms",
            channel=NotificationChannel.SMS,
            recipient=fields["contact_phone"] or "+15550000000",
            status=NotificationStatus.DELIVERED,
            created_at=start + timedelta(seconds=33),
            sent_at=start + timedelta(seconds=35),
        )
    )
    session.commit()
    return ticket


@pytest.fixture
def call_ticket(session: Session) -> Ticket:
    return seed_call_ticket(session)


@pytest.fixture
def many_tickets(session: Session) -> list[Ticket]:
    """A mix of tickets to search, filter and page through."""
    seed_call_ticket(session)
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
