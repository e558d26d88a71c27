"""Admin actions that are safe to reload, users a manager can edit, bounds and error pages."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Account, Engineer, Licence, SupportPin
from models.users import ApiToken, AuditEntry, User, UserRole
from tests.dashboard.conftest import Browser


def once_key(page: str, action: str | None = None) -> str:
    """The one-use key of a form on `page` (the first, or the PIN form for `action`)."""
    if action is not None:
        page = page.split(f'name="action" value="{action}"')[0]
        return re.findall(r'name="once" value="([^"]+)"', page)[-1]
    found = re.search(r'name="once" value="([^"]+)"', page)
    assert found, "the form carries a one-use key"
    return found.group(1)


def test_reloading_the_new_pin_page_issues_no_second_pin(
    as_manager: Browser, session: Session, call_ticket: Any
) -> None:
    account = session.scalar(select(Account).where(Account.name == "Acme Corp"))
    assert account is not None
    url = f"/dashboard/accounts/{account.id}"
    page = as_manager.get(url).data.decode()
    form = {"action": "renew", "once": once_key(page, "renew")}
    pins_before = session.scalar(select(func.count()).select_from(SupportPin))

    shown = as_manager.post(f"{url}/pins", data=form)
    assert shown.status_code == 200 and 'id="new-pin-value"' in shown.data.decode()
    assert shown.headers["Cache-Control"] == "no-store"
    first = re.search(r'id="new-pin-value">([^<]+)<', shown.data.decode())
    assert first

    # A reload posts the very same form again.
    again = as_manager.post(f"{url}/pins", data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith(url)
    followed = as_manager.get(url).data.decode()
    assert "reloading does not issue another" in followed
    assert first.group(1) not in followed
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SupportPin)) == pins_before + 1
    renewals = session.scalars(select(AuditEntry).where(AuditEntry.action == "pin.renewed"))
    assert len(renewals.all()) == 1


def test_renew_clear_and_issue_forms_ask_first(as_manager: Browser, call_ticket: Any) -> None:
    account_page = as_manager.get("/dashboard/accounts/").data.decode()
    link = re.search(r'href="(/dashboard/accounts/\d+)"', account_page)
    assert link
    page = as_manager.get(link.group(1)).data.decode()
    for action in ("renew", "one_time", "privileged", "clear"):
        form = page.split(f'name="action" value="{action}"')[0].rsplit("<form", 1)[1]
        assert "data-confirm=" in form, action
    assert "stops working at once" in page


def test_reposting_the_licence_form_issues_once(
    as_manager: Browser, session: Session, call_ticket: Any
) -> None:
    account = session.scalar(select(Account).where(Account.name == "Acme Corp"))
    assert account is not None
    url = f"/dashboard/accounts/{account.id}"
    form = {"kind": "support", "quantity": "3", "once": once_key(as_manager.get(url).data.decode())}
    before = session.scalar(select(func.count()).select_from(Licence))
    assert as_manager.post(f"{url}/licences", data=form).status_code == 303
    again = as_manager.post(f"{url}/licences", data=form, follow_redirects=True)
    assert "already issued" in again.data.decode()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Licence)) == before + 1


def test_licence_quantity_has_a_sane_upper_bound(
    as_manager: Browser, session: Session, call_ticket: Any
) -> None:
    account = session.scalar(select(Account).where(Account.name == "Acme Corp"))
    assert account is not None
    url = f"/dashboard/accounts/{account.id}"
    before = session.scalar(select(func.count()).select_from(Licence))
    page = as_manager.post(
        f"{url}/licences",
        data={"kind": "support", "quantity": "99999999999"},
        follow_redirects=True,
    ).data.decode()
    assert "Quantity must be at most 100,000, got 99,999,999,999" in page
    page = as_manager.post(
        f"{url}/licences",
        data={"kind": "support", "quantity": "1", "days": "40000"},
        follow_redirects=True,
    ).data.decode()
    assert "at most 3,650 days" in page
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Licence)) == before


def test_reposting_the_token_form_makes_one_token(
    as_manager: Browser, session: Session, manager: Any
) -> None:
    form = {"name": "ci", "once": once_key(as_manager.get("/dashboard/profile").data.decode())}
    first = as_manager.post("/dashboard/profile/tokens", data=form)
    assert first.status_code == 200 and 'id="new-token"' in first.data.decode()
    again = as_manager.post("/dashboard/profile/tokens", data=form, follow_redirects=True)
    assert "already made" in again.data.decode() and 'id="new-token"' not in again.data.decode()
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 1


def test_a_manager_links_an_engineer_and_changes_a_role(
    as_manager: Browser, session: Session, engineer_user: Any
) -> None:
    other = Engineer(name="Olga Other", phone="+15550002222")
    session.add(other)
    session.commit()
    page = as_manager.get("/dashboard/users").data.decode()
    assert f"Olga Other (#{other.id})" in page
    response = as_manager.post(
        f"/dashboard/users/{engineer_user.id}",
        data={"role": "manager", "engineer_id": str(other.id)},
    )
    assert response.status_code == 303
    page = as_manager.get("/dashboard/users").data.decode()
    assert "erik updated: role: engineer -&gt; manager; engineer:" in page
    session.expire_all()
    erik = session.get(User, engineer_user.id)
    assert erik is not None and erik.role is UserRole.MANAGER and erik.engineer_id == other.id


def test_deactivating_asks_first_and_says_what_ended(
    as_manager: Browser, session: Session, engineer_user: Any
) -> None:
    page = as_manager.get("/dashboard/users").data.decode()
    row = page.split('data-user="erik"')[1].split("</tr>")[0]
    assert 'data-confirm="Deactivate erik?' in row
    done = as_manager.post(
        f"/dashboard/users/{engineer_user.id}/active", data={"active": "0"}, follow_redirects=True
    )
    assert "erik deactivated: their sessions, API tokens and calendar links have ended" in (
        done.data.decode()
    )
    # A reload of the page after the redirect is a GET: nothing is posted again.
    assert as_manager.get("/dashboard/users").status_code == 200
    assert [e.action for e in session.scalars(select(AuditEntry))].count("user.deactivated") == 1


def test_a_manager_cannot_demote_themselves(as_manager: Browser, manager: Any) -> None:
    page = as_manager.post(
        f"/dashboard/users/{manager.id}",
        data={"role": "engineer", "engineer_id": ""},
        follow_redirects=True,
    ).data.decode()
    assert "You cannot demote or deactivate yourself" in page


def test_unknown_pages_and_forbidden_pages_are_the_apps_own(
    client: Any, as_engineer: Browser
) -> None:
    missing = as_engineer.get("/dashboard/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    text = missing.data.decode()
    assert "Not found" in text and "Skip to content" in text and "Go to the tickets" in text
    forbidden = as_engineer.get("/dashboard/users")
    assert forbidden.status_code == 403
    assert "This page is for managers." in forbidden.data.decode()
    assert "Not allowed" in forbidden.data.decode()


def test_an_unexpected_error_is_the_apps_own_page(app: Flask, client: Any) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom() -> str:
        raise RuntimeError("database exploded")

    app.add_url_rule("/dashboard/boom", "boom", boom)
    response = client.get("/dashboard/boom")
    assert response.status_code == 500 and response.mimetype == "text/html"
    text = response.data.decode()
    assert "Something went wrong" in text and "Nothing you entered was lost" in text
    assert "database exploded" not in text and "Traceback" not in text


def test_a_webhook_error_stays_plain_text(client: Any) -> None:
    response = client.get("/no-such-webhook")
    assert response.status_code == 404 and response.mimetype == "text/plain"
