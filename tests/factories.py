"""Builders for tests: accounts, licences, PINs, engineers, and calls placed like Twilio does."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from directory import add_contact, add_engineer, create_account
from entitlement.licences import issue_licence
from entitlement.pins import IssuedPin, issue_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from models import Account, Engineer, LicenceKind, PinKind
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN


def account(
    session: Session,
    name: str = "Acme Corp",
    products: tuple[str, ...] = ("db",),
    contact: tuple[str, str, str] | None = ("Ann Ops", "+14155550100", "ann@acme.test"),
) -> Account:
    """An account with its products and (unless None) a technical contact."""
    made = create_account(session, name, list(products))
    if contact is not None:
        add_contact(session, made, *contact)
    return made


def licences(session: Session, account: Account, *, entitled: bool = True) -> None:
    """Five user licences and five support licences, current or expired."""
    now = datetime.now(UTC)
    issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=400))
    issue_licence(
        session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=400 if not entitled else 10)
    )


def pin(
    app: Flask, session: Session, account: Account, kind: PinKind = PinKind.STANDING
) -> IssuedPin:
    """A PIN of `kind` for `account`, issued under the app's PIN policy."""
    policy = PinPolicy.from_settings(settings_of(app))
    return issue_pin(session, account, kind, datetime.now(UTC), policy)


def engineer(
    session: Session, name: str = "Lee Park", phone: str = "+14155550199", email: str | None = None
) -> Engineer:
    """An active engineer who can be rung."""
    return add_engineer(session, name, phone, email)


@dataclass
class Customer:
    account_id: int
    name: str
    keys: str


def make_customer(
    app: Flask,
    session: Session,
    name: str = "Acme Corp",
    products: tuple[str, ...] = ("db",),
    entitled: bool = True,
) -> Customer:
    """An account with a technical contact, licences and a standing PIN."""
    made = account(session, name, products)
    licences(session, made, entitled=entitled)
    issued = pin(app, session, made)
    session.commit()
    return Customer(made.id, made.name, issued.keypad_entry)


class SignedTwilio:
    """Places a call: posts webhooks to the app the way Twilio does, form-encoded and signed.

    Like Twilio it follows the URLs the last answers named: `post("/ivr/pin")` goes to the
    Gather action the app gave (with its query), unless `exact=True` posts the path as given.
    """

    def __init__(self, client: FlaskClient, call_sid: str | None = None) -> None:
        self.client = client
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.caller = "+14155550100"
        self.named: dict[str, str] = {}

    def remember(self, response: Any) -> None:
        """Keep the webhook URLs a TwiML answer names, by path."""
        if response.mimetype != "text/xml":
            return
        root = ET.fromstring(response.data)
        urls = [el.get(a) for el in root.iter() for a in ("action", "waitUrl")] + [
            el.text for el in root.iter("Redirect")
        ]
        for url in urls:
            if url and url.startswith(PUBLIC_BASE_URL):
                local = url.removeprefix(PUBLIC_BASE_URL)
                self.named[local.split("?", 1)[0]] = local

    def post(
        self,
        path: str,
        token: str | None = None,
        signature: str | None = None,
        exact: bool = False,
        **params: str,
    ) -> Any:
        if not exact and "?" not in path:
            path = self.named.get(path, path)
        response = self._post(path, token, signature, **params)
        self.remember(response)
        return response

    def _post(
        self,
        path: str,
        token: str | None = None,
        signature: str | None = None,
        **params: str,
    ) -> Any:
        form = {
            "AccountSid": TEST_ACCOUNT_SID,
            "CallSid": self.call_sid,
            "From": self.caller,
            "To": "+15005550006",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **params,
        }
        url = PUBLIC_BASE_URL + path
        headers = {
            "X-Twilio-Signature": signature
            if signature is not None
            else RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, form),
            "I-Twilio-Idempotency-Token": token or uuid.uuid4().hex,
        }
        return self.client.post(path, data=form, headers=headers)
