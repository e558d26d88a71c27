"""Staff side: the pending-intake queue (approve, reject), email tickets, emails in the thread."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, IntakeReview, TicketMessage
from tests.dashboard.conftest import Browser, sign_in
from tests.mailin.conftest import (
    Customer,
    email,
    inbound,
    replies_to,
    run_worker,
    smtp_send,
    text_of,
    tickets,
)
from tests.notify.conftest import SmtpSink

Sink = tuple[SmtpSink, str]
Intake = tuple[str, int]


def staff(app: Flask, session: Session) -> Browser:
    from dashboard.users import create_user
    from models import UserRole
    from tests.dashboard.conftest import PASSWORD

    create_user(session, "sam", "Sam Support", PASSWORD, UserRole.ENGINEER)
    session.commit()
    client = app.test_client()
    assert sign_in(client, "sam").status_code == 302
    return Browser(client)


def test_a_held_message_is_shown_safely_and_approving_it_opens_the_ticket(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(
        intake,
        email(
            "new.hire@acme.test",
            f"PIN {acme.pin} Cannot log in",
            body="",
            html="<p>Login <b>fails</b></p><script>alert('x')</script>",
        ),
    )
    run_worker(app)
    browser = staff(app, session)

    page = browser.get("/dashboard/mail/").get_data(as_text=True)
    assert "new.hire@acme.test" in page and "Login fails" in page
    assert "<script>alert" not in page and acme.pin not in page
    assert "PIN ******** Cannot log in" in page

    (held,) = inbound(session)
    response = browser.post(f"/dashboard/mail/{held.id}/approve")
    assert response.status_code == 302
    (ticket,) = tickets(session)
    assert ticket.channel == "email" and ticket.account_id == acme.account_id
    assert ticket.subject == "Cannot log in" and ticket.contact_id is None
    assert inbound(session)[0].review is IntakeReview.APPROVED
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "mail.approved"))
    run_worker(app)
    approved = replies_to(sink, "new.hire@acme.test")[-1]
    assert ticket.number in text_of(approved)
    # The ticket page shows the email in the conversation; the list filters email tickets.
    assert "Login fails" in browser.get(f"/dashboard/tickets/{ticket.id}").get_data(as_text=True)
    listed = browser.get("/dashboard/tickets/?channel=email").get_data(as_text=True)
    assert ticket.number in listed
    assert ticket.number not in browser.get("/dashboard/tickets/?channel=phone").get_data(
        as_text=True
    )
    # Approving twice does nothing more.
    again = browser.post(f"/dashboard/mail/{held.id}/approve", follow_redirects=True)
    assert "not waiting for review" in again.get_data(as_text=True)
    assert len(tickets(session)) == 1


def test_rejecting_a_held_message_tells_the_sender(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email("someone@else.test", f"PIN {acme.pin} Help"))
    run_worker(app)
    browser = staff(app, session)
    (held,) = inbound(session)

    assert browser.post(f"/dashboard/mail/{held.id}/reject").status_code == 302
    run_worker(app)
    assert tickets(session) == []
    assert inbound(session)[0].review is IntakeReview.REJECTED
    assert "could not open a ticket" in text_of(replies_to(sink, "someone@else.test")[-1])
    assert "Nothing waits for review" in browser.get("/dashboard/mail/").get_data(as_text=True)


def test_a_reply_from_an_unknown_address_on_a_thread_is_held_then_added(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email(acme.email, f"PIN {acme.pin} Workflow stopped"))
    run_worker(app)
    (ticket,) = tickets(session)
    smtp_send(
        intake,
        email("colleague@acme.test", f"Re: [{ticket.number}] Workflow stopped", "Logs attached."),
    )
    run_worker(app)
    held = inbound(session)[-1]
    assert held.review is IntakeReview.PENDING and held.ticket_id == ticket.id
    browser = staff(app, session)

    assert browser.post(f"/dashboard/mail/{held.id}/approve").status_code == 302
    session.expire_all()
    bodies = [m.body for m in session.scalars(select(TicketMessage).order_by(TicketMessage.id))]
    assert bodies[-1] == "Logs attached."


def test_the_queue_needs_a_signed_in_user(app: Flask, client: Any) -> None:
    assert client.get("/dashboard/mail/").status_code in (302, 401)
