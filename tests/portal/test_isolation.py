"""Tenant isolation: every portal route and file, as another account's contact and anonymously."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import Attachment, Ticket
from tests.portal.conftest import Customer, Portal, seed_customer

# Pages anyone may open: signing in and out.
PUBLIC = {
    "portal.static",
    "portal.sign_in_page",
    "portal.send_link",
    "portal.password_sign_in",
    "portal.link_page",
    "portal.use_link",
    "portal.sign_out_view",
    "portal.home",
}
# Routes naming no ticket or file: they act on the signed-in contact's own account only.
OWN_ACCOUNT = {
    "portal.pin_page",
    "portal.show_pin",
    "portal.renew_pin",
    "portal.new_one_time_pin",
    "portal.new_privileged_pin",
    "portal.clear_pin",
    "portal.tickets_page",
    "portal.new_ticket_page",
    "portal.new_ticket",
    "portal.password_page",
}


def portal_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every portal route but the public ones."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("portal.") and rule.endpoint not in PUBLIC:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return found


def fill(rule: str, ticket: Ticket, attachment: Attachment) -> str:
    return (
        rule.replace("<int:ticket_id>", str(ticket.id))
        .replace("<int:attachment_id>", str(attachment.id))
        .replace("<path:filename>", attachment.filename)
    )


@pytest.fixture
def globex_ticket(app: Flask, session: Session) -> tuple[Customer, Ticket, Attachment]:
    """Globex's ticket with a file and a message, opened on the portal by its contact."""
    globex = seed_customer(app, session, "Globex", "admin@globex.test")
    browser = Portal(app.test_client())
    browser.sign_in(session, globex.email)
    from io import BytesIO

    response = browser.post(
        "/portal/tickets/new",
        {
            "severity": "3",
            "category": "installation",
            "subject": "Globex secret plans",
            "description": "Only Globex may read this.",
            "files": [(BytesIO(b"globex log"), "globex.log")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    browser.post(response.headers["Location"].split("?")[0] + "/messages", {"body": "hello"})
    session.expire_all()
    ticket = session.query(Ticket).filter_by(subject="Globex secret plans").one()
    attachment = session.query(Attachment).filter_by(ticket_id=ticket.id).one()
    return globex, ticket, attachment


def test_every_route_naming_a_ticket_or_file_is_404_for_another_account(
    app: Flask, session: Session, acme: Customer, as_acme: Portal, globex_ticket: Any
) -> None:
    _, ticket, attachment = globex_ticket
    tried = 0
    for endpoint, method, rule in portal_routes(app):
        if endpoint in OWN_ACCOUNT:
            continue
        url = fill(rule, ticket, attachment)
        data = {"body": "let me in", "kind": "standing"}
        response = as_acme.get(url) if method == "GET" else as_acme.post(url, data)
        assert response.status_code == 404, (endpoint, method, url, response.status_code)
        assert "Globex" not in response.get_data(as_text=True)
        tried += 1
    assert tried >= 4  # the ticket page, reply, invite support and the file
    session.expire_all()
    assert ticket.elevated_access_until is None
    # Acme's own lists never show Globex's ticket, whatever the search.
    listing = as_acme.get("/portal/tickets?q=Globex").get_data(as_text=True)
    assert "Globex secret plans" not in listing and "0 tickets" in listing
    # Routes naming nothing act on Acme's own account: Acme's PIN page says Acme.
    assert "Acme Corp is entitled" in as_acme.get("/portal/pin").get_data(as_text=True)


def test_every_route_sends_an_anonymous_visitor_to_sign_in(
    app: Flask, portal: Portal, globex_ticket: Any
) -> None:
    _, ticket, attachment = globex_ticket
    for endpoint, method, rule in portal_routes(app):
        url = fill(rule, ticket, attachment)
        response = portal.get(url) if method == "GET" else portal.post(url, {"body": "x"})
        assert response.status_code == 302, (endpoint, method, url)
        assert response.headers["Location"].startswith("/portal/sign-in"), endpoint
        page = portal.get(response.headers["Location"]).get_data(as_text=True)
        assert "Sign in to the support portal" in page


def test_a_staff_user_signed_in_on_the_dashboard_is_anonymous_on_the_portal(
    app: Flask, session: Session, globex_ticket: Any
) -> None:
    from dashboard.users import create_user
    from models.users import UserRole
    from tests.dashboard.conftest import PASSWORD, sign_in

    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    client = app.test_client()
    assert sign_in(client, "maria").status_code == 302
    _, ticket, _ = globex_ticket
    response = client.get(f"/portal/tickets/{ticket.id}")
    assert response.status_code == 302 and "/portal/sign-in" in response.headers["Location"]
