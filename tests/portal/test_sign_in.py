"""Signing in by emailed link: single use, 15 minutes, no enumeration; the optional password."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dashboard.outbox import HIDDEN_LINK
from dashboard.users import create_user
from directory import portal_access
from models import Notification, PortalSignInLink, UserRole, utcnow
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.portal.conftest import Customer, Portal, last_link


def outbox_count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Notification)) or 0


def test_link_signs_in_once_and_shows_the_pin_page(
    app: Flask, portal: Portal, session: Session, acme: Customer
) -> None:
    sent = portal.post("/portal/sign-in", {"email": "ADMIN@acme.test"}).get_data(as_text=True)
    assert "a sign-in link is on its way" in sent
    link = last_link(session, acme.email)
    email = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert email is not None and email.kind == "portal_sign_in"
    # Opening the link only asks to continue: a mail scanner following it uses nothing up.
    assert "Continue to the portal" in portal.get(link).get_data(as_text=True)
    assert portal.post(link).status_code == 302
    page = portal.get("/portal/pin").get_data(as_text=True)
    assert "Acme Corp is entitled to support" in page
    # Used once: a second use, from this browser or another, says so and offers a new link.
    assert "already been used" in portal.post(link).get_data(as_text=True)
    other = Portal(app.test_client())
    again = other.get(link).get_data(as_text=True)
    assert "already been used" in again and "Email me a new link" in again
    assert other.post(link).status_code == 200
    assert other.get("/portal/pin").status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_email(
    portal: Portal, session: Session, acme: Customer
) -> None:
    before = outbox_count(session)
    known = portal.post("/portal/sign-in", {"email": acme.email}).get_data(as_text=True)
    unknown = portal.post("/portal/sign-in", {"email": "nobody@acme.test"}).get_data(as_text=True)
    assert known.replace(acme.email, "X") == unknown.replace("nobody@acme.test", "X")
    assert outbox_count(session) == before + 1


def test_expired_link_says_so_and_offers_a_new_one(
    portal: Portal, session: Session, acme: Customer
) -> None:
    portal.post("/portal/sign-in", {"email": acme.email})
    link = last_link(session, acme.email)
    session.execute(update(PortalSignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    page = portal.get(link).get_data(as_text=True)
    assert "has expired" in page and "Email me a new link" in page
    assert "has expired" in portal.post(link).get_data(as_text=True)
    assert portal.get("/portal/pin").status_code == 302


def test_link_lasts_fifteen_minutes(app: Flask, session: Session, acme: Customer) -> None:
    now = utcnow()
    assert portal_access.request_link(session, acme.email, now, "x/")
    link = session.scalars(select(PortalSignInLink).order_by(PortalSignInLink.id.desc())).first()
    assert link is not None and link.expires_at - link.created_at == timedelta(minutes=15)


def test_deactivated_contact_cannot_sign_in_and_is_signed_out(
    session: Session, acme: Customer, as_acme: Portal
) -> None:
    assert as_acme.get("/portal/pin").status_code == 200
    portal_access.deactivate(session, acme.contact, utcnow())
    session.commit()
    assert as_acme.get("/portal/pin").status_code == 302
    before = outbox_count(session)
    as_acme.post("/portal/sign-in", {"email": acme.email})
    assert outbox_count(session) == before


def test_optional_password(session: Session, acme: Customer, as_acme: Portal) -> None:
    short = as_acme.post("/portal/password", {"password": "short", "confirm": "short"})
    assert "at least 12 characters" in short.get_data(as_text=True)
    good = "a long enough passphrase"
    saved = as_acme.post("/portal/password", {"password": good, "confirm": good})
    assert "Password saved" in saved.get_data(as_text=True)
    as_acme.post("/portal/sign-out")
    assert as_acme.get("/portal/pin").status_code == 302
    as_acme.get("/portal/sign-in")
    wrong = as_acme.post("/portal/sign-in/password", {"email": acme.email, "password": "nope"})
    assert "do not match" in wrong.get_data(as_text=True)
    right = as_acme.post("/portal/sign-in/password", {"email": acme.email, "password": good})
    assert right.status_code == 302
    assert as_acme.get("/portal/pin").status_code == 200


def test_staff_and_portal_sessions_are_separate(
    app: Flask, session: Session, acme: Customer, as_acme: Portal
) -> None:
    # A signed-in contact is a stranger to the dashboard.
    response = as_acme.client.get("/dashboard/tickets/")
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


def test_forms_need_the_csrf_token(portal: Portal, acme: Customer) -> None:
    response = portal.client.post("/portal/sign-in", data={"email": acme.email})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def test_staff_reading_the_outbox_never_see_a_contacts_sign_in_link(
    app: Flask, portal: Portal, session: Session, acme: Customer
) -> None:
    portal.post("/portal/sign-in", {"email": acme.email})
    token = last_link(session, acme.email).rsplit("/", 1)[1]
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    staff = app.test_client()
    assert sign_in(staff, "maria").status_code in (302, 303)
    shown = staff.get("/dashboard/outbox").get_data(as_text=True)
    assert token not in shown and HIDDEN_LINK in shown.replace("&#39;", "'")
