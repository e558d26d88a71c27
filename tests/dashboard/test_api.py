"""The JSON API: token authentication, roles, validation and every endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, Engineer
from models.users import AuditEntry


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ENDPOINTS = [
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/1"),
    ("PATCH", "/api/v1/tickets/1"),
    ("POST", "/api/v1/tickets/1/notes"),
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
    assert response.json["status_changes"] == [
        {
            "from": "open",
            "to": "solved",
            "by": "erik",
            "at": response.json["status_changes"][0]["at"],
        }
    ]


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
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"kind"}
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
    import json
    import re

    for ref in set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', json.dumps(doc))):
        assert ref[1] in doc["components"][ref[0]]
