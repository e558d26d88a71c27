"""The number's language is read from the routing version kept in memory: a new version counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hotline import create_app
from routing import store
from routing.store import load_routing_text
from tests.factories import SignedTwilio

ROUTING = """\
engineers:
  ann:
    name: Ann Berg
    phone: "+15005550101"
    timezone: Europe/Berlin
policies:
  main:
    levels:
      - targets: [{engineer: ann}]
default_policy: main
numbers:
  "+15005550006": {language: %s}
"""


def greeting_language(client: FlaskClient) -> str | None:
    response = SignedTwilio(client).post("/ivr/voice")
    say = ET.fromstring(response.data).find(".//Say")
    assert say is not None
    return say.get("language")


def load(session: Session, language: str) -> None:
    load_routing_text(session, ROUTING % language, "test", datetime.now(UTC))
    session.commit()


def test_a_version_loaded_here_changes_the_next_greeting_at_once(
    client: FlaskClient, session: Session
) -> None:
    load(session, "de-DE")
    assert greeting_language(client) == "de-DE"
    load(session, "en-GB")
    assert greeting_language(client) == "en-GB"


def test_a_version_loaded_by_another_process_counts_once_the_check_is_due(
    app: Flask,
    app_config: dict[str, Any],
    client: FlaskClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load(session, "de-DE")
    assert greeting_language(client) == "de-DE"
    # Another host: its own engine on the same database, its own memory.
    other = create_app(app_config)
    with other.extensions["sessionmaker"]() as elsewhere:
        load(elsewhere, "en-GB")
    other.extensions["dialer"].close()
    other.extensions["engine"].dispose()
    # Within the check interval this process may still greet from its copy; once the check
    # is due, the new version is read.
    monkeypatch.setattr(store, "VERSION_CHECK_SECONDS", 0.0)
    assert greeting_language(client) == "en-GB"
