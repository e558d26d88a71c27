"""The customer hears back when their ticket is solved or waits on them, in their own time zone."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from models import Account, Notification, NotificationChannel, Ticket, UserRole
from simulator import Caller, Engineer, Simulator
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.e2e.conftest import ONCALL
from tests.factories import make_customer
from tests.notify.conftest import drain

CALLER = "+15557654321"  # the simulator's default caller ID
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_solving_and_asking_a_question_email_the_contact_and_text_the_caller(
    app: Flask, phone: Simulator, session: Session, client: FlaskClient
) -> None:
    customer = make_customer(app, session)
    account = session.get(Account, customer.account_id)
    assert account is not None
    account.timezone = "Europe/Paris"
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    phone.engineers = {ONCALL: Engineer.accepts(after=2)}
    phone.call(Caller(keys=[customer.keys, "1"]))
    ticket = session.scalars(select(Ticket)).one()
    assert sign_in(client, "maria").status_code == 302
    browser = Browser(client)
    url = f"/dashboard/tickets/{ticket.id}/status"
    browser.post(url, data={"status": "pending", "question": "Which region is down?"})
    browser.post(url, data={"status": "solved"})
    drain(app)
    session.expire_all()
    rows = {
        (n.kind, n.channel): n
        for n in session.scalars(select(Notification).where(Notification.kind.like("ticket_%")))
    }
    email = rows[("ticket_solved", NotificationChannel.EMAIL)]
    assert email.recipient == "ann@acme.test"
    assert email.body is not None and "marked solved by maria on" in email.body
    # On the customer's clock (Paris), in words: "Saturday 5 December 2026 at 3:07 AM CET".
    assert re.search(r"on \w+day \d{1,2} \w+ \d{4} at \d{1,2}:\d{2} [AP]M CES?T", email.body)
    pending = rows[("ticket_pending", NotificationChannel.EMAIL)]
    assert pending.body is not None and "Which region is down?" in pending.body
    texts = [m["body"] for m in phone.messages if m["to"] == CALLER]
    assert any("was solved on" in t for t in texts)
    assert any("Which region is down?" in t for t in texts)
    assert not any(ISO.search(n.body or "") for n in rows.values())


def test_reopening_a_ticket_tells_the_customer_nothing(
    app: Flask, phone: Simulator, session: Session, client: FlaskClient
) -> None:
    customer = make_customer(app, session)
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    phone.engineers = {ONCALL: Engineer.accepts(after=2)}
    phone.call(Caller(keys=[customer.keys, "1"]))
    ticket = session.scalars(select(Ticket)).one()
    assert sign_in(client, "maria").status_code == 302
    Browser(client).post(f"/dashboard/tickets/{ticket.id}/status", data={"status": "open"})
    session.expire_all()
    assert (
        session.scalars(select(Notification).where(Notification.kind.like("ticket_%"))).all() == []
    )
