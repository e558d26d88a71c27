"""The Support PIN page: entitlement in words, PINs behind buttons, and PINs that work by phone."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry, Notification, SupportPin, Ticket
from tests.portal.conftest import Portal, seed_customer

DIGITS = re.compile(r'<output class="pin-digits" id="pin-(\w+)"[^>]*>([p0-9]+)</output>')
KEYPAD = re.compile(r'keypad type <strong class="mono">([*0-9]+)</strong>')


def revealed(page: str) -> tuple[str, str, str]:
    """(kind, digits, keypad) of the PIN a page reveals."""
    found = DIGITS.search(page)
    keypad = KEYPAD.search(page)
    assert found and keypad, "no PIN revealed on the page"
    return found.group(1), found.group(2), keypad.group(1)


def test_pin_is_only_in_the_answer_to_show(as_acme: Portal, session: Session) -> None:
    page = as_acme.get("/portal/pin").get_data(as_text=True)
    assert "Show PIN" in page and DIGITS.search(page) is None
    assert "5</strong> current support licences" in page and "expires" in page
    shown = as_acme.post("/portal/pin/show", {"kind": "standing"})
    kind, digits, keypad = revealed(shown.get_data(as_text=True))
    assert kind == "standing" and digits == keypad and len(digits) == 8
    # The script's way: JSON, never cached.
    as_json = as_acme.post(
        "/portal/pin/show", {"kind": "standing"}, headers={"Accept": "application/json"}
    )
    assert as_json.get_json()["pin"] == digits and as_json.headers["Cache-Control"] == "no-store"
    # Reloading the page shows nothing again; the digits are in no row, no audit line.
    assert DIGITS.search(as_acme.get("/portal/pin").get_data(as_text=True)) is None
    session.expire_all()
    for pin in session.scalars(select(SupportPin)):
        assert digits not in pin.pin_hash and digits not in (pin.sealed or "")
    for entry in session.scalars(select(AuditEntry)):
        assert digits not in str(entry.detail)


def test_non_admin_contact_sees_the_pin_but_cannot_change_it(app: Flask, session: Session) -> None:
    customer = seed_customer(app, session, "Initech", "bob@initech.test", admin=False)
    browser = Portal(app.test_client())
    browser.sign_in(session, customer.email)
    page = browser.get("/portal/pin").get_data(as_text=True)
    assert "Only your account's admin contacts can renew or clear it" in page
    assert revealed(browser.post("/portal/pin/show", {"kind": "standing"}).get_data(as_text=True))
    for url in ("/portal/pin/renew", "/portal/pin/one-time", "/portal/pin/privileged"):
        assert browser.post(url).status_code == 403
    assert browser.post("/portal/pin/clear", {"kind": "standing"}).status_code == 403


def test_clear_then_no_pin(as_acme: Portal) -> None:
    page = as_acme.post("/portal/pin/clear", {"kind": "standing"}).get_data(as_text=True)
    assert "Support PIN cleared: it no longer works." in page
    assert "Your account has no working support PIN." in page
    again = as_acme.post("/portal/pin/show", {"kind": "standing"}).get_data(as_text=True)
    assert "There is no working PIN of this kind." in again


def test_privileged_pin_says_what_it_grants_and_when_it_expires(as_acme: Portal) -> None:
    page = as_acme.post("/portal/pin/privileged").get_data(as_text=True)
    kind, digits, keypad = revealed(page)
    assert kind == "privileged" and digits.startswith("p") and keypad == "*" + digits[1:]
    assert "data for 24 hours after you give it to them" in page
    assert 'id="privileged-expiry">Expires' in page


def test_invite_support_grants_a_day_and_alerts_managers(as_acme: Portal, session: Session) -> None:
    from io import BytesIO

    created = as_acme.post(
        "/portal/tickets/new",
        {
            "severity": "3",
            "category": "question",
            "subject": "Access",
            "description": "Look please",
            "files": [(BytesIO(b""), "")],
        },
        content_type="multipart/form-data",
    )
    ticket_url = created.headers["Location"].split("?")[0]
    page = as_acme.post(ticket_url + "/invite-support").get_data(as_text=True)
    assert "Support has elevated access to your account until" in page
    session.expire_all()
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.elevated_access_until is not None
    hours = (ticket.elevated_access_until - ticket.created_at).total_seconds() / 3600
    assert 23.9 < hours < 24.1
    alerts = session.scalars(
        select(Notification).where(Notification.kind == "support_invited")
    ).all()
    assert sorted(a.channel.value for a in alerts) == ["email", "sms"]
    assert session.scalars(
        select(AuditEntry).where(AuditEntry.action == "portal.support_invited")
    ).one()
