"""End-to-end fixtures: the real app, reached only through the Twilio-compatible simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from simulator import Simulator
from tests.conftest import PUBLIC_BASE_URL, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

ONCALL = "+15005550101"
EMERGENCY = "+15005550911"
ACCOUNT_MANAGEMENT = "+15005550300"


@pytest.fixture
def phone(app_config: dict[str, Any]) -> Iterator[Simulator]:
    """A phone network that calls the app as Twilio would, signing every webhook."""
    with Simulator(PUBLIC_BASE_URL, TEST_AUTH_TOKEN, TEST_ACCOUNT_SID, max_wall=60) as sim:
        app_config.update(
            TWILIO_API_BASE_URL=sim.rest_url, ONCALL_NUMBER=ONCALL, EMERGENCY_NUMBER=EMERGENCY
        )
        yield sim


@pytest.fixture
def app(phone: Simulator, app: Flask) -> Flask:
    """The app under test, attached to the simulator (built after `phone` set its config)."""
    phone.attach(app, busy=app.extensions["dialer"].busy)
    return app
