"""The JSON API: token authentication, roles, validation and every endpoint."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder

from models import Account, Engineer, LicenceKind, NotificationStatus, PinKind, TicketStatus
from models.users import AuditEntry
from tests.dashboard.openapi_check import (
    OpenApiCheckedClient,
    api_document,
    api_spec,
    check_response,
)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client that fails the test on any API response the OpenAPI document forbids."""
    app.test_client_class = OpenApiCheckedClient
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ENDPOINTS = [
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/1"),
    ("PATCH", "/api/v1/tickets/1"),
    ("PATCH", "/api/v1/tickets/1/details"),
    ("POST", "/api/v1/tickets/1/notes"),
    ("POST", "/api/v1/tickets/1/take"),
    ("POST", "/api/v1/tickets/1/acknowledge"),
    ("POST", "/api/v1/tickets/1/assign"),
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/accounts/1"),
    ("GET", "/api/v1/accounts/1/licences"),
    ("POST", "/api/v1/accounts/1/licences"),
    ("GET", "/api/v1/accounts/1/pins"),
    ("POST", "/api/v1/accounts/1/pins"),
    ("GET", "/api/v1/engineers"),
    ("GET", "/api/v1/engineers/1"),
]
MANAGER_ONLY = [e for e in ENDPOINTS if "/tickets" not in e[1]]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer hlt_wrong", "Basic abc"])
def test_every_endpoint_needs_a_valid_token(
    client: FlaskClient, method: str, url: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.open(url, method=method, headers=headers, json={})
    assert response.status_code == 401
    assert response.json["error"]["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_is_not_an_api_credential(client: FlaskClient, manager: Any) -> None:
    from tests.dashboard.conftest import sign_in

    sign_in(client, "maria")
    assert client.get("/api/v1/tickets").status_code == 401


def test_a_revoked_token_stops_working(
    client: FlaskClient, manager_token: str, session: Session
) -> None:
    from models.users import ApiToken

    assert client.get("/api/v1/tickets", headers=bearer(manager_token)).status_code == 200
    token = session.scalars(select(ApiToken)).one()
    from models import utcnow

    token.revoked_at = utcnow()
    session.commit()
    assert client.get("/api/v1/tickets", headers=bearer(manager_token)).status_code == 401


@pytest.mark.parametrize(("method", "url"), MANAGER_ONLY)
def test_engineers_get_403_on_manager_endpoints(
    client: FlaskClient, engineer_token: str, method: str, url: str
) -> None:
    response = client.open(url, method=method, headers=bearer(engineer_token), json={})
    assert response.status_code == 403


def test_list_and_filter_tickets(
    client: FlaskClient, engineer_token: str, many_tickets: list[Any]
) -> None:
    response = client.get(
        "/api/v1/tickets",
        query_string={"q": "printer", "per_page": 3},
        headers=bearer(engineer_token),
    )
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 6 and len(body["tickets"]) == 3
    assert all("Printer" in t["subject"] for t in body["tickets"])
    assert body["tickets"][0]["number"].startswith("HL-")


def test_bad_filters_are_400_with_fields(client: FlaskClient, engineer_token: str) -> None:
    response = client.get(
        "/api/v1/tickets",
        query_string={"status": "closed", "page": "0"},
        headers=bearer(engineer_token),
    )
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"status", "page"}


def test_read_a_ticket_without_pin_digits(
    client: FlaskClient, engineer_token: str, call_ticket: Any
) -> None:
    response = client.get(f"/api/v1/tickets/{call_ticket.id}", headers=bearer(engineer_token))
    assert response.status_code == 200
    body = response.json
    assert body["number"] == call_ticket.number
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[0] == "call_started" and "ring_attempt" in kinds
    assert "12345678" not in response.get_data(as_text=True)
    assert body["notifications"][0]["status"] == "delivered"
    assert client.get("/api/v1/tickets/999999", headers=bearer(engineer_token)).status_code == 404


def test_update_status(client: FlaskClient, engineer_token: str, call_ticket: Any) -> None:
    url = f"/api/v1/tickets/{call_ticket.id}"
    response = client.patch(url, json={"status": "solved"}, headers=bearer(engineer_token))
    assert response.status_code == 200
    assert response.json["status"] == "solved"
    # First the accepting engineer acknowledged it by phone, then erik solved it.
    assert response.json["status_changes"][-1] == {
        "from": "acknowledged",
        "to": "solved",
        "by": "erik",
        "at": response.json["status_changes"][-1]["at"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({}, "status"),
        ({"status": "open", "subject": "x"}, "subject"),
    ],
)
def test_update_status_validation(
    client: FlaskClient, engineer_token: str, call_ticket: Any, body: dict[str, Any], field: str
) -> None:
    response = client.patch(
        f"/api/v1/tickets/{call_ticket.id}", json=body, headers=bearer(engineer_token)
    )
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]


def test_non_json_body_is_400(client: FlaskClient, engineer_token: str, call_ticket: Any) -> None:
    response = client.patch(
        f"/api/v1/tickets/{call_ticket.id}", data="status=open", headers=bearer(engineer_token)
    )
    assert response.status_code == 400


def test_add_notes(client: FlaskClient, engineer_token: str, call_ticket: Any) -> None:
    url = f"/api/v1/tickets/{call_ticket.id}/notes"
    response = client.post(url, json={"body": "Called back"}, headers=bearer(engineer_token))
    assert response.status_code == 201
    assert response.json["body"] == "Called back" and response.json["author"] == "Erik Engineer"
    empty = client.post(url, json={"body": "  "}, headers=bearer(engineer_token))
    assert empty.status_code == 400 and "body" in empty.json["error"]["fields"]
    bad_kind = client.post(url, json={"body": "x", "kind": "memo"}, headers=bearer(engineer_token))
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json["error"]["fields"]
    ticket = client.get(f"/api/v1/tickets/{call_ticket.id}", headers=bearer(engineer_token)).json
    assert [n["body"] for n in ticket["notes"]] == ["Called back"]


def test_accounts_and_licences(
    client: FlaskClient, manager_token: str, call_ticket: Any, session: Session
) -> None:
    account = session.scalars(select(Account)).one()
    listed = client.get("/api/v1/accounts", headers=bearer(manager_token)).json["accounts"]
    assert listed[0]["name"] == "Acme Corp" and listed[0]["entitled"] is True
    one = client.get(f"/api/v1/accounts/{account.id}", headers=bearer(manager_token)).json
    assert one["licences"][0]["kind"] == "support"
    url = f"/api/v1/accounts/{account.id}/licences"
    made = client.post(url, json={"kind": "user", "quantity": 9}, headers=bearer(manager_token))
    assert made.status_code == 201 and made.json["quantity"] == 9
    # Nine user licences against five support ones: no longer entitled, and why.
    again = client.get(f"/api/v1/accounts/{account.id}", headers=bearer(manager_token)).json
    assert again["entitled"] is False and "9 user licences" in again["entitlement_reason"]
    assert len(client.get(url, headers=bearer(manager_token)).json["licences"]) == 2
    bad = client.post(url, json={"kind": "gold", "quantity": 0}, headers=bearer(manager_token))
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"kind", "quantity"}
    bad_q = client.post(url, json={"kind": "user", "quantity": 0}, headers=bearer(manager_token))
    assert bad_q.status_code == 400 and "quantity" in bad_q.json["error"]["fields"]
    assert client.get("/api/v1/accounts/999999", headers=bearer(manager_token)).status_code == 404
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "licence.issued" in actions


def test_pins(client: FlaskClient, manager_token: str, call_ticket: Any, session: Session) -> None:
    account = session.scalars(select(Account)).one()
    url = f"/api/v1/accounts/{account.id}/pins"
    made = client.post(url, json={"action": "renew"}, headers=bearer(manager_token))
    assert made.status_code == 201 and made.json["pin"].isdigit()
    listed = client.get(url, headers=bearer(manager_token))
    assert listed.json["pins"][0]["status"] == "active"
    assert made.json["pin"] not in listed.get_data(as_text=True)
    assert (
        client.post(url, json={"action": "standing"}, headers=bearer(manager_token)).status_code
        == 409
    )
    cleared = client.post(url, json={"action": "clear"}, headers=bearer(manager_token))
    assert cleared.status_code == 200 and len(cleared.json["cleared"]) == 1
    assert (
        client.post(url, json={"action": "clear"}, headers=bearer(manager_token)).status_code == 409
    )
    bad = client.post(url, json={"action": "guess"}, headers=bearer(manager_token))
    assert bad.status_code == 400 and "action" in bad.json["error"]["fields"]


def test_engineers(client: FlaskClient, manager_token: str, session: Session) -> None:
    session.add(Engineer(name="Dana", phone="+15550002222"))
    session.commit()
    listed = client.get("/api/v1/engineers", headers=bearer(manager_token)).json["engineers"]
    assert [e["name"] for e in listed] == ["Dana"]
    one = client.get(f"/api/v1/engineers/{listed[0]['id']}", headers=bearer(manager_token))
    assert one.json["phone"] == "+15550002222"
    assert client.get("/api/v1/engineers/999999", headers=bearer(manager_token)).status_code == 404


def test_the_openapi_document_describes_every_endpoint(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    described = {
        (method.upper(), "/api/v1" + path)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    expected = {(m, u.replace("/1", "/{x}")) for m, u in ENDPOINTS}
    normalised = {
        (
            m,
            p.replace("{ticket_id}", "{x}")
            .replace("{account_id}", "{x}")
            .replace("{engineer_id}", "{x}"),
        )
        for m, p in described
    }
    assert normalised == expected
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # Every $ref resolves.
    for ref in set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(doc))):
        assert ref[1] in doc["components"][ref[0]]


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        (
            "POST",
            "/api/v1/accounts/{account}/licences",
            {"kind": "user", "quantity": "9"},
            "quantity",
        ),
        (
            "POST",
            "/api/v1/accounts/{account}/licences",
            {"kind": "user", "quantity": True},
            "quantity",
        ),
        (
            "POST",
            "/api/v1/accounts/{account}/licences",
            {"kind": "user", "quantity": 2, "days": 0},
            "days",
        ),
        (
            "POST",
            "/api/v1/accounts/{account}/licences",
            {"kind": "user", "quantity": 2, "x": 1},
            "x",
        ),
        ("POST", "/api/v1/accounts/{account}/licences", {"quantity": 2}, "kind"),
        (
            "POST",
            "/api/v1/accounts/{account}/pins",
            {"action": "renew", "expires_in_days": -1},
            "expires_in_days",
        ),
        ("POST", "/api/v1/accounts/{account}/pins", ["renew"], "request_body"),
        ("POST", "/api/v1/tickets/{ticket}/notes", {"body": "x" * 10_001}, "body"),
        ("POST", "/api/v1/tickets/{ticket}/notes", {"body": None}, "body"),
        ("PATCH", "/api/v1/tickets/{ticket}", {"status": 3}, "status"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(
    client: FlaskClient,
    manager_token: str,
    call_ticket: Any,
    method: str,
    url: str,
    body: Any,
    field: str,
) -> None:
    target = url.format(account=call_ticket.account_id, ticket=call_ticket.id)
    response = client.open(target, method=method, json=body, headers=bearer(manager_token))
    assert response.status_code == 400
    assert response.json["error"]["fields"][field]


def test_malformed_json_is_a_400(
    client: FlaskClient, engineer_token: str, call_ticket: Any
) -> None:
    response = client.patch(
        f"/api/v1/tickets/{call_ticket.id}",
        data="{",
        content_type="application/json",
        headers=bearer(engineer_token),
    )
    assert response.status_code == 400
    # Unchanged: still as the engineer who accepted the call left it.
    assert call_ticket.status is TicketStatus.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"severity": "high"}, "severity"),
        ({"severity": "9"}, "severity"),
        ({"from": "2026-13-01"}, "from"),
        ({"sort": "random"}, "sort"),
        ({"per_page": "500"}, "per_page"),
        ({"outcome": "lost"}, "outcome"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(
    client: FlaskClient, engineer_token: str, query: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/tickets", query_string=query, headers=bearer(engineer_token))
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {field}


def test_filters_narrow_the_list(
    client: FlaskClient, engineer_token: str, many_tickets: list[Any]
) -> None:
    def total(**query: str) -> int:
        response = client.get("/api/v1/tickets", query_string=query, headers=bearer(engineer_token))
        assert response.status_code == 200
        return int(response.json["total"])

    everything = total()
    assert everything == 61
    assert total(status="open", severity="1", sort="oldest", q=" ") < everything
    assert total(outcome="refused") == len([t for t in many_tickets if t.refusal_reason])


def test_the_document_is_a_valid_openapi_document(app: Flask) -> None:
    validate(api_document(app))


def test_the_document_takes_its_enums_from_the_models(app: Flask) -> None:
    from dashboard.queries import SORTS

    schemas = api_document(app)["components"]["schemas"]
    for enum in (TicketStatus, LicenceKind, PinKind, NotificationStatus):
        assert schemas[enum.__name__]["enum"] == [member.value for member in enum]
    listing = api_document(app)["paths"]["/tickets"]["get"]["parameters"]
    sort = next(p for p in listing if p["name"] == "sort")
    assert sort["schema"]["enum"] == list(SORTS)
    # The field the hand-typed document had lost.
    assert "note" in schemas["IssuedPin"]["required"]


def _normalised(path: str) -> str:
    """A URL of ENDPOINTS or a path template of the document, with ids as {x}."""
    return re.sub(r"\{\w+\}|(?<=/)1(?=/|$)", "{x}", path)


def test_the_document_marks_the_manager_only_operations(app: Flask) -> None:
    doc = api_document(app)
    marked = {
        (method.upper(), _normalised("/api/v1" + path))
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method != "parameters" and "Managers only." in op["description"]
    }
    assert marked == {(m, _normalised(u)) for m, u in MANAGER_ONLY}


ENGINEER = {
    "id": 1,
    "name": "Dana",
    "phone": "+15550002222",
    "email": None,
    "timezone": "UTC",
    "active": True,
}
ISSUED_PIN = {
    "id": 3,
    "kind": "standing",
    "pin": "12345678",
    "keypad": "12345678",
    "expires_at": None,
    "note": "Shown once: it is stored only as a hash.",
}
READ_ENGINEER = ("GET", "/api/v1/engineers/1")
ISSUE_PIN = ("POST", "/api/v1/accounts/1/pins")


def _check(operation: tuple[str, str], status: int, body: Any, app: Flask) -> None:
    method, path = operation
    request = Request(EnvironBuilder(method=method, path=path).get_environ())
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    check_response(api_spec(app), request, response)


def test_a_right_response_passes_the_check(app: Flask) -> None:
    _check(READ_ENGINEER, 200, ENGINEER, app)
    _check(ISSUE_PIN, 201, ISSUED_PIN, app)
    _check(ISSUE_PIN, 409, {"error": {"status": 409, "message": "already has one"}}, app)


@pytest.mark.parametrize(
    ("operation", "status", "body"),
    [
        (READ_ENGINEER, 200, {**ENGINEER, "id": "1"}),
        (READ_ENGINEER, 200, {**ENGINEER, "pin_hash": "ab12"}),
        (READ_ENGINEER, 200, {k: v for k, v in ENGINEER.items() if k != "phone"}),
        (READ_ENGINEER, 500, {"error": {"status": 500, "message": "boom"}}),
        (READ_ENGINEER, 404, {"error": "not found"}),
        (ISSUE_PIN, 201, {k: v for k, v in ISSUED_PIN.items() if k != "note"}),
        (ISSUE_PIN, 201, {**ISSUED_PIN, "kind": "gold"}),
        (("GET", "/api/v1/engineers/1/pins"), 200, ENGINEER),
    ],
)
def test_a_response_the_document_forbids_is_caught(
    app: Flask, operation: tuple[str, str], status: int, body: Any
) -> None:
    with pytest.raises(AssertionError, match="not as the OpenAPI document says"):
        _check(operation, status, body, app)


def test_take_assign_and_acknowledge_through_the_api(
    client: FlaskClient,
    engineer_token: str,
    manager: Any,
    engineer_user: Any,
    call_ticket: Any,
    session: Session,
) -> None:
    url = f"/api/v1/tickets/{call_ticket.id}"
    taken = client.post(f"{url}/take", headers=bearer(engineer_token))
    assert taken.status_code == 200
    session.refresh(call_ticket)
    assert call_ticket.assignee_user_id == engineer_user.id
    # Already acknowledged by the engineer who accepted the call: a conflict, nothing changes.
    assert client.post(f"{url}/acknowledge", headers=bearer(engineer_token)).status_code == 409
    moved = client.post(
        f"{url}/assign", json={"user_id": manager.id}, headers=bearer(engineer_token)
    )
    assert moved.status_code == 200
    session.refresh(call_ticket)
    assert call_ticket.assignee_name == "maria"
    bad = client.post(f"{url}/assign", json={"user_id": 99999}, headers=bearer(engineer_token))
    assert bad.status_code == 400 and "user_id" in bad.get_data(as_text=True)
    nobody = client.post(f"{url}/assign", json={"user_id": None}, headers=bearer(engineer_token))
    assert nobody.status_code == 200
    session.refresh(call_ticket)
    assert call_ticket.assignee_name is None
