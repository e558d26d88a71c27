"""What staff manage for the portal on the dashboard: categories and contacts' access."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from directory import add_contact, create_account
from models import Notification, TicketCategory
from models.users import AuditEntry, UserRole
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.portal.conftest import Customer, Portal, last_link


def manager_browser(app: Flask, session: Session) -> Browser:
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    client = app.test_client()
    assert sign_in(client, "maria").status_code == 302
    return Browser(client)


def test_managers_keep_the_category_list_the_portal_offers(
    app: Flask, session: Session, as_acme: Portal
) -> None:
    staff = manager_browser(app, session)
    page = staff.get("/dashboard/categories/").get_data(as_text=True)
    for label in ("Installation", "Outage", "Data not captured", "Billing", "Phone call"):
        assert label in page
    staff.post("/dashboard/categories/", {"label": "Network  access", "customer_choice": "on"})
    form = as_acme.get("/portal/tickets/new").get_data(as_text=True)
    assert 'value="network_access"' in form and "Network access" in form
    again = staff.post("/dashboard/categories/", {"label": "network access"}, follow_redirects=True)
    assert "There is already a category" in again.get_data(as_text=True)
    # Retired: no longer offered to customers or staff, still named on old tickets.
    session.expire_all()
    category = session.scalars(
        select(TicketCategory).where(TicketCategory.code == "network_access")
    ).one()
    staff.post(f"/dashboard/categories/{category.id}/active", {"active": "0"})
    assert "network_access" not in as_acme.get("/portal/tickets/new").get_data(as_text=True)
    phone = session.scalars(select(TicketCategory).where(TicketCategory.code == "phone")).one()
    refused = staff.post(
        f"/dashboard/categories/{phone.id}/active", {"active": "0"}, follow_redirects=True
    )
    assert "cannot be retired" in refused.get_data(as_text=True)
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "category.added" in actions and "category.retired" in actions


def test_managers_invite_and_deactivate_contacts(app: Flask, session: Session) -> None:
    staff = manager_browser(app, session)
    account = create_account(session, "Initech", ["router"])
    contact = add_contact(session, account, "Peter", "+15557654321", "peter@initech.test")
    session.commit()
    page = staff.get(f"/dashboard/accounts/{account.id}").get_data(as_text=True)
    assert "Customer portal access" in page and "not invited" in page
    staff.post(
        f"/dashboard/accounts/{account.id}/contacts/{contact.id}/portal",
        {"action": "invite", "can_manage_pins": "on"},
    )
    session.expire_all()
    invite = session.scalars(select(Notification).where(Notification.kind == "portal_invite")).one()
    assert invite.recipient == "peter@initech.test"
    browser = Portal(app.test_client())
    link = last_link(session, "peter@initech.test")
    browser.get(link)
    assert browser.post(link).status_code == 302
    assert "Generate a one-time PIN" in browser.get("/portal/pin").get_data(as_text=True)
    staff.post(
        f"/dashboard/accounts/{account.id}/contacts/{contact.id}/portal", {"action": "pins_off"}
    )
    assert "Only your account's admin contacts" in browser.get("/portal/pin").get_data(as_text=True)
    staff.post(
        f"/dashboard/accounts/{account.id}/contacts/{contact.id}/portal", {"action": "deactivate"}
    )
    assert browser.get("/portal/pin").status_code == 302
    page = staff.get(f"/dashboard/accounts/{account.id}").get_data(as_text=True)
    assert "deactivated" in page


def test_another_accounts_contact_cannot_be_managed_through_this_account(
    app: Flask, session: Session, acme: Customer
) -> None:
    staff = manager_browser(app, session)
    other = create_account(session, "Other", [])
    session.commit()
    response = staff.post(
        f"/dashboard/accounts/{other.id}/contacts/{acme.contact.id}/portal",
        {"action": "deactivate"},
    )
    assert response.status_code == 404
