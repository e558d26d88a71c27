"""Account pages: entitlement, licences and PINs (shown once, never stored in clear)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, SupportPin
from models.users import AuditEntry
from tests.dashboard.conftest import Browser


@pytest.fixture
def acme(session: Session, call_ticket: Any) -> Account:
    return session.scalars(select(Account).where(Account.name == "Acme Corp")).one()


def test_accounts_list_shows_entitlement_and_why(
    as_manager: Browser, acme: Account, session: Session
) -> None:
    session.add(Account(name="Initech"))
    session.commit()
    html = as_manager.get("/dashboard/accounts/").data.decode()
    assert "Acme Corp" in html and "Initech" in html
    assert "this account has no support licences" in html


def test_renewing_a_pin_shows_it_once(as_manager: Browser, acme: Account, session: Session) -> None:
    response = as_manager.post(f"/dashboard/accounts/{acme.id}/pins", data={"action": "renew"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'id="new-pin-value">(\d+)<', response.data.decode())
    assert match, "the new PIN is shown"
    digits = match.group(1)
    # The PIN the seeded caller typed is cleared; the new one is the only one left working.
    stored = session.scalars(
        select(SupportPin).where(SupportPin.account_id == acme.id, SupportPin.cleared_at.is_(None))
    ).one()
    assert digits not in stored.pin_hash
    # Not on the next visit.
    assert digits not in as_manager.get(f"/dashboard/accounts/{acme.id}").data.decode()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "pin.renewed")).one()
    assert entry.username == "maria" and entry.target == "Acme Corp"
    assert digits not in str(entry.detail)


def test_privileged_pin_and_clearing(as_manager: Browser, acme: Account) -> None:
    html = as_manager.post(
        f"/dashboard/accounts/{acme.id}/pins", data={"action": "privileged"}
    ).data.decode()
    assert re.search(r'id="new-pin-value">p\d+<', html)
    # The standing PIN the caller used is cleared; clearing again explains instead of failing.
    for _ in range(2):
        page = as_manager.post(
            f"/dashboard/accounts/{acme.id}/pins", data={"action": "clear"}, follow_redirects=True
        ).data.decode()
    assert "has no working standing PIN" in page


def test_issuing_licences_changes_entitlement(as_manager: Browser, session: Session) -> None:
    account = Account(name="Initech")
    session.add(account)
    session.commit()
    as_manager.post(
        f"/dashboard/accounts/{account.id}/licences", data={"kind": "support", "quantity": "2"}
    )
    html = as_manager.get(f"/dashboard/accounts/{account.id}").data.decode()
    assert "not entitled" not in html and "entitled" in html
    bad = as_manager.post(
        f"/dashboard/accounts/{account.id}/licences",
        data={"kind": "support", "quantity": "lots"},
        follow_redirects=True,
    )
    assert b"whole numbers" in bad.data


def test_engineers_cannot_touch_pins(as_engineer: Browser, acme: Account) -> None:
    assert (
        as_engineer.post(
            f"/dashboard/accounts/{acme.id}/pins", data={"action": "renew"}
        ).status_code
        == 403
    )
