"""Fixtures for webhook tests: a Twilio that signs its requests, and a customer with a PIN."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import Customer, SignedTwilio, make_customer


@pytest.fixture
def twilio(client: FlaskClient) -> SignedTwilio:
    return SignedTwilio(client)


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


class HeldExecutor:
    """Keeps the dialer's work without running it: engineer legs stay placed but unanswered."""

    def __init__(self) -> None:
        self.held: list[tuple[Any, tuple[Any, ...]]] = []

    def submit(self, fn: Any, /, *args: Any) -> None:
        self.held.append((fn, args))

    def shutdown(self, wait: bool = True) -> None:
        pass


@pytest.fixture
def held_dialer(app: Flask) -> HeldExecutor:
    """The app's dialer with its REST work held back, so ringing stays where the flow left it."""
    dialer = app.extensions["dialer"]
    dialer.pool.shutdown(wait=True)
    executor = HeldExecutor()
    dialer.pool = executor
    return executor
