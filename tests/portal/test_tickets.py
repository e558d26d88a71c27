"""Tickets on the portal: the form, attachments and their limits, the list, the conversation."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from models import (
    Attachment,
    Engineer,
    Notification,
    Ticket,
    TicketMessage,
    TicketOutcome,
    TicketStatus,
    utcnow,
)
from models.users import UserRole
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.portal.conftest import Customer, Portal


def new_ticket(portal: Portal, files: list[tuple[bytes, str]] | None = None, **fields: str) -> Any:
    data: dict[str, Any] = {
        "severity": "3",
        "category": "installation",
        "subject": "Installer stops at 80%",
        "description": "Since this morning the installer hangs.",
        **fields,
    }
    data["files"] = [(BytesIO(content), name) for content, name in files or []]
    return portal.post("/portal/tickets/new", data, content_type="multipart/form-data")


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["HOTLINE"].data_dir) / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_ticket_with_two_files_is_confirmed_with_its_number(
    app: Flask, as_acme: Portal, session: Session, acme: Customer
) -> None:
    response = new_ticket(as_acme, [(b"log line\n", "server.log"), (b"%PDF-1.4", "report.pdf")])
    assert response.status_code == 302
    page = as_acme.get(response.headers["Location"]).get_data(as_text=True)
    ticket = session.scalars(select(Ticket)).one()
    assert f'Ticket <strong class="mono">{ticket.number}</strong> is open' in page
    assert (ticket.account_id, ticket.contact_id, ticket.severity) == (
        acme.account.id,
        acme.contact.id,
        3,
    )
    assert ticket.response_due_at is not None
    assert "server.log" in page and "report.pdf" in page
    files = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [f.filename for f in files] == ["server.log", "report.pdf"]
    assert files[1].content_type == "application/pdf"
    download = as_acme.get(f"/portal/attachments/{files[0].id}/server.log")
    assert download.data == b"log line\n"
    assert download.headers["Content-Disposition"].startswith("attachment")
    # Staff hear about it.
    kinds = session.scalars(select(Notification.kind)).all()
    assert "ticket_message_to_staff" in kinds


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Small limits, so the tests send small files."""
    app_config.update(ATTACHMENT_MAX_MB="1", ATTACHMENT_MAX_FILES="2")
    return app_config


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"MZ\x90\x00", "setup.exe")], "The file setup.exe is not a type we accept"),
        ([(b"<script>", "page.html")], "The file page.html is not a type we accept"),
        (
            [(b"x" * (1024 * 1024 + 1), "big.log")],
            "The file big.log is too large (1 MB); the limit is 1 MB",
        ),
        ([(b"", "empty.log")], "The file empty.log is empty"),
        ([(b"ok", "a.log"), (b"ok", "b.log"), (b"ok", "c.log")], "At most 2 files"),
    ],
    ids=["executable", "html", "too-big", "empty", "too-many"],
)
def test_refused_files_say_why_and_nothing_is_stored(
    app: Flask, as_acme: Portal, session: Session, files: list[tuple[bytes, str]], message: str
) -> None:
    response = new_ticket(as_acme, files, subject="Keep what I typed")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page and 'id="files-error"' in page
    assert 'value="Keep what I typed"' in page
    assert count(session, Ticket) == 0 and count(session, Attachment) == 0
    assert stored_files(app) == []


def test_a_request_over_the_size_cap_is_refused_with_a_page(
    app: Flask, as_acme: Portal, session: Session
) -> None:
    big = b"x" * (1024 * 1024)
    response = new_ticket(as_acme, [(big, "a.log"), (big, "b.log"), (big, "c.log")])
    assert response.status_code == 413
    assert "too large to send" in response.get_data(as_text=True)
    assert count(session, Ticket) == 0 and stored_files(app) == []


def test_form_mistakes_are_shown_next_to_the_field(as_acme: Portal, session: Session) -> None:
    page = new_ticket(as_acme, subject="  ").get_data(as_text=True)
    assert 'id="subject-error"' in page and "Say in a few words" in page
    assert 'aria-invalid="true" aria-describedby="subject-error"' in page
    page = new_ticket(as_acme, category="phone").get_data(as_text=True)
    assert 'id="category-error"' in page
    assert count(session, Ticket) == 0


def test_severity_one_shows_the_hotline_and_the_pin_button_instead(
    app: Flask, as_acme: Portal, session: Session
) -> None:
    page = new_ticket(as_acme, severity="1").get_data(as_text=True)
    assert "Severity 1: call us now" in page
    assert app.config["HOTLINE"].hotline_number in page and "Show PIN" in page
    assert '<section class="card sev1" id="severity-one" >' in page or 'id="severity-one" >' in page
    assert count(session, Ticket) == 0


def seed_history(session: Session, acme: Customer) -> None:
    """A phone ticket (with PIN attempts on its timeline), and a solved portal one."""
    now = utcnow()
    session.add_all(
        [
            Ticket(
                account_id=acme.account.id,
                subject="Outage at HQ",
                category="phone",
                severity=1,
                status=TicketStatus.ACKNOWLEDGED,
                outcome=TicketOutcome.CONNECTED,
                created_at=now - timedelta(days=2),
                updated_at=now - timedelta(days=2),
            ),
            Ticket(
                account_id=acme.account.id,
                subject="Billing question",
                category="billing",
                severity=4,
                status=TicketStatus.SOLVED,
                created_at=now - timedelta(days=1),
                updated_at=now - timedelta(days=1),
            ),
        ]
    )
    session.commit()


def test_my_tickets_lists_every_channel_and_filters(
    as_acme: Portal, session: Session, acme: Customer
) -> None:
    seed_history(session, acme)
    new_ticket(as_acme)
    page = as_acme.get("/portal/tickets").get_data(as_text=True)
    assert "3 tickets" in page
    order = [page.index(s) for s in ("Installer stops", "Billing question", "Outage at HQ")]
    assert order == sorted(order)
    assert "Call connected to an engineer" in page
    solved = as_acme.get("/portal/tickets?status=solved").get_data(as_text=True)
    assert "1 ticket" in solved and "Billing question" in solved
    pending = as_acme.get("/portal/tickets?status=pending").get_data(as_text=True)
    assert "2 tickets" in pending and "Billing question" not in pending
    billing = as_acme.get("/portal/tickets?category=billing").get_data(as_text=True)
    assert "1 ticket" in billing
    found = as_acme.get("/portal/tickets?q=installer").get_data(as_text=True)
    assert "1 ticket" in found and "Installer stops" in found
    oldest = as_acme.get("/portal/tickets?sort=oldest").get_data(as_text=True)
    assert oldest.index("Outage at HQ") < oldest.index("Installer stops")
    # A phone ticket shows what the customer may see, never the PIN or the timeline.
    phone_ticket = session.scalars(select(Ticket).where(Ticket.category == "phone")).one()
    detail = as_acme.get(f"/portal/tickets/{phone_ticket.id}").get_data(as_text=True)
    assert "Call connected to an engineer" in detail
    assert "PIN" not in detail.split("<main")[1].split("Invite support")[0]


def test_conversation_with_a_staff_reply_and_internal_note(
    app: Flask, as_acme: Portal, session: Session, acme: Customer
) -> None:
    engineer = Engineer(name="Erik", phone="+15550001111", email="erik@vendor.test")
    session.add(engineer)
    session.flush()
    create_user(session, "erik", "Erik Engineer", PASSWORD, UserRole.MANAGER, engineer.id)
    session.commit()
    location = new_ticket(as_acme, severity="2").headers["Location"].split("?")[0]
    ticket = session.scalars(select(Ticket)).one()
    staff_client = app.test_client()
    assert sign_in(staff_client, "erik").status_code == 302
    staff = Browser(staff_client)
    assert staff.post(f"/dashboard/tickets/{ticket.id}/take").status_code == 302
    staff.post(f"/dashboard/tickets/{ticket.id}/notes", {"body": "Internal: try build 42"})
    staff.post(
        f"/dashboard/tickets/{ticket.id}/reply",
        {"body": "Please send the installer log.", "files": [(BytesIO(b"steps"), "howto.txt")]},
        content_type="multipart/form-data",
    )
    dashboard_page = staff.get(f"/dashboard/tickets/{ticket.id}").get_data(as_text=True)
    assert (
        "Customer conversation" in dashboard_page
        and "Please send the installer log." in dashboard_page
    )
    page = as_acme.get(location).get_data(as_text=True)
    assert "Please send the installer log." in page and "howto.txt" in page
    assert "Internal: try build 42" not in page
    session.expire_all()
    to_customer = session.scalars(
        select(Notification).where(Notification.kind == "ticket_message_to_customer")
    ).one()
    assert to_customer.recipient == acme.email
    as_acme.post(location + "/messages", {"body": "> Please send the installer log.\nAttached."})
    session.expire_all()
    texts = session.scalars(
        select(Notification).where(
            Notification.kind == "ticket_message_to_staff", Notification.channel == "sms"
        )
    ).all()
    assert [t.recipient for t in texts] == ["+15550001111"]
    messages = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert [m.author_kind.value for m in messages] == ["staff", "customer"]
    staff.post(f"/dashboard/tickets/{ticket.id}/status", {"status": "solved"})
    assert "Solved" in as_acme.get(location).get_data(as_text=True)
