"""Helpers for webhook tests: a Twilio that signs its requests, and a customer with a PIN."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from directory import add_contact, create_account
from entitlement.licences import issue_licence
from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from kernel.config import settings_of
from models import LicenceKind, PinKind
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN


class SignedTwilio:
    """Posts webhooks to the app the way Twilio does: form-encoded and signed.

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


@pytest.fixture
def twilio(client: FlaskClient) -> SignedTwilio:
    return SignedTwilio(client)


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
    now = datetime.now(UTC)
    account = create_account(session, name, list(products))
    add_contact(session, account, "Ann Ops", "+14155550100", "ann@acme.test")
    issue_licence(session, account, LicenceKind.USER, 5, now - timedelta(days=400))
    issue_licence(
        session, account, LicenceKind.SUPPORT, 5, now - timedelta(days=400 if not entitled else 10)
    )
    policy = PinPolicy.from_settings(settings_of(app))
    issued = issue_pin(session, account, PinKind.STANDING, now, policy)
    session.commit()
    return Customer(account.id, account.name, issued.keypad_entry)


@pytest.fixture
def customer(app: Flask, session: Session) -> Customer:
    return make_customer(app, session)


class InlineExecutor:
    """Runs the dialer's work at once, in the webhook's thread, so a test sees all of it."""

    def submit(self, fn: Any, /, *args: Any) -> None:
        fn(*args)

    def shutdown(self, wait: bool = True) -> None:
        pass


@pytest.fixture
def inline_dialer(app: Flask) -> None:
    """The app's real dialer (its REST calls fail fast: nothing listens), run synchronously."""
    dialer = app.extensions["dialer"]
    dialer.pool.shutdown(wait=True)
    dialer.pool = InlineExecutor()
