"""Portal fixtures: two customer accounts with invited contacts, and a browser-like client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from directory import add_contact, create_account, portal_access
from entitlement.licences import issue_licence
from entitlement.pins import renew_standing_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from models import Account, Contact, LicenceKind, Notification, utcnow

LINK = re.compile(r"/portal/link/([A-Za-z0-9_-]{43})")
CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"|name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Customer:
    """A seeded customer account and one admin contact of it."""

    account: Account
    contact: Contact
    email: str


def seed_customer(
    app: Flask, session: Session, name: str, email: str, admin: bool = True
) -> Customer:
    """An entitled account with a product, a standing PIN and an invited contact."""
    now = utcnow()
    account = create_account(session, name, ["router"])
    contact = add_contact(session, account, f"{name} Admin", "+15551230000", email)
    issue_licence(session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=10))
    issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=10))
    renew_standing_pin(session, account, now, PinPolicy.from_settings(settings_of(app)))
    session.flush()
    portal_access.invite(session, contact, now, admin, "http://localhost/portal/link/")
    session.commit()
    return Customer(account=account, contact=contact, email=email)


@pytest.fixture
def acme(app: Flask, session: Session) -> Customer:
    return seed_customer(app, session, "Acme Corp", "admin@acme.test")


@pytest.fixture
def globex(app: Flask, session: Session) -> Customer:
    return seed_customer(app, session, "Globex", "admin@globex.test")


def last_link(session: Session, email: str) -> str:
    """The path of the newest sign-in link emailed to `email` (read from the outbox)."""
    session.expire_all()
    rows = session.scalars(
        select(Notification).where(Notification.recipient == email).order_by(Notification.id.desc())
    )
    for row in rows:
        found = LINK.search(str(row.payload.get("link", "")))
        if found:
            return f"/portal/link/{found.group(1)}"
    raise AssertionError(f"no sign-in link was emailed to {email}")


def _pairs(fields: dict[str, Any]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(stream=item[0], filename=item[1])
            pairs.append((key, item))
    return pairs


class Portal:
    """A test client acting like a browser on the portal: it reads the CSRF token off pages."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response: Any) -> None:
        found = (
            CSRF.search(response.get_data(as_text=True))
            if response.mimetype == "text/html"
            else None
        )
        if found:
            self.token = found.group(1) or found.group(2)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if not self.token:
            self.get("/portal/sign-in")
        fields = {**(data or {}), "csrf_token": self.token}
        if kwargs.get("content_type") == "multipart/form-data":
            # Encoded in memory: the test client would spool big files to a temp file it never
            # closes, which pytest reports as a leaked file.
            boundary, body = encode_multipart(MultiDict(_pairs(fields)))
            kwargs["content_type"] = f"multipart/form-data; boundary={boundary}"
            response = self.client.post(url, data=body, **kwargs)
        else:
            response = self.client.post(url, data=fields, **kwargs)
        self._remember(response)
        return response

    def sign_in(self, session: Session, email: str) -> None:
        """Ask for a link, open it and press Continue, as a contact would."""
        self.post("/portal/sign-in", {"email": email})
        link = last_link(session, email)
        assert "Continue to the portal" in self.get(link).get_data(as_text=True)
        response = self.post(link)
        assert response.status_code == 302, response.get_data(as_text=True)
        self.get("/portal/pin")


@pytest.fixture
def portal(client: FlaskClient) -> Portal:
    return Portal(client)


@pytest.fixture
def as_acme(app: Flask, session: Session, acme: Customer) -> Portal:
    browser = Portal(app.test_client())
    browser.sign_in(session, acme.email)
    return browser
