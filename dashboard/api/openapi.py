"""The OpenAPI 3.1 document describing this API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue

from dashboard.api.base import bp


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "Invalid input",
        401: "Missing or bad token",
        403: "Not allowed for this role",
        404: "Not found",
        409: "Conflicts with the current state",
    }
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes} | {
        "x-descriptions": {str(c): texts[c] for c in codes}
    }


def _op(summary: str, ok: dict[str, Any], *codes: int, **extra: Any) -> dict[str, Any]:
    responses = {
        key: value for key, value in _errors(401, *codes).items() if key != "x-descriptions"
    }
    status = extra.pop("status", "200")
    return {"summary": summary, "responses": {status: ok, **responses}, **extra}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ID = {"type": "integer"}
TS = {"type": ["string", "null"], "format": "date-time"}
STATUS = {"type": "string", "enum": ["open", "pending", "solved"]}
FILTERS = [
    {
        "name": "q",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Keyword: subject, "
        "description (transcription), account, caller number or ticket number (HL-000123).",
    },
    {"name": "status", "in": "query", "schema": STATUS},
    {"name": "severity", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 4}},
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "product", "in": "query", "schema": ID, "description": "Product id"},
    {"name": "account", "in": "query", "schema": ID, "description": "Account id"},
    {
        "name": "outcome",
        "in": "query",
        "schema": {"type": "string", "enum": ["connected", "message", "refused", "abandoned"]},
    },
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {
        "name": "sort",
        "in": "query",
        "schema": {"type": "string", "enum": ["newest", "oldest", "severity", "updated"]},
    },
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
]


def _path_id(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": ID}]


def document(server_url: str) -> dict[str, Any]:
    """The whole OpenAPI document."""
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
    schemas: dict[str, Any] = {
        "Error": error,
        "TicketSummary": {
            "type": "object",
            "properties": {
                "id": ID,
                "number": {"type": "string", "example": "HL-000123"},
                "created_at": TS,
                "updated_at": TS,
                "status": STATUS,
                "severity": {"type": ["integer", "null"]},
                "category": {"type": "string"},
                "outcome": {"type": ["string", "null"]},
                "refusal_reason": {"type": ["string", "null"]},
                "subject": {"type": "string"},
                "account": {"type": ["object", "null"]},
                "product": {"type": ["object", "null"]},
                "contact_name": {"type": ["string", "null"]},
                "contact_phone": {"type": ["string", "null"]},
            },
        },
        "Ticket": {
            "allOf": [
                _ref("TicketSummary"),
                {
                    "type": "object",
                    "properties": {
                        "description": {"type": "string"},
                        "events": {"type": "array", "items": _ref("CallEvent")},
                        "notes": {"type": "array", "items": _ref("Note")},
                        "status_changes": {"type": "array", "items": {"type": "object"}},
                        "notifications": {"type": "array", "items": {"type": "object"}},
                    },
                },
            ]
        },
        "TicketPage": {
            "type": "object",
            "properties": {
                "tickets": {"type": "array", "items": _ref("TicketSummary")},
                "total": {"type": "integer"},
                "total_is_capped": {"type": "boolean"},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
            },
        },
        "CallEvent": {
            "type": "object",
            "properties": {
                "id": ID,
                "at": TS,
                "kind": {"type": "string"},
                "call_id": {"type": ["integer", "null"]},
                "detail": {"type": "object"},
            },
        },
        "Note": {
            "type": "object",
            "properties": {
                "id": ID,
                "kind": {"type": "string", "enum": ["note", "message"]},
                "author": {"type": "string"},
                "body": {"type": "string"},
                "created_at": TS,
            },
        },
        "Account": {
            "type": "object",
            "properties": {
                "id": ID,
                "name": {"type": "string"},
                "entitled": {"type": "boolean"},
                "entitlement_reason": {"type": ["string", "null"]},
                "support_licences": {"type": "integer"},
                "user_licences": {"type": "integer"},
            },
        },
        "Licence": {
            "type": "object",
            "properties": {
                "id": ID,
                "kind": {"type": "string", "enum": ["user", "support"]},
                "quantity": {"type": "integer"},
                "issued_at": TS,
                "expires_at": TS,
            },
        },
        "Pin": {
            "type": "object",
            "description": "A PIN's state; never its digits.",
            "properties": {
                "id": ID,
                "kind": {"type": "string"},
                "status": {"type": "string"},
                "created_at": TS,
                "expires_at": TS,
                "used_at": TS,
                "cleared_at": TS,
            },
        },
        "IssuedPin": {
            "type": "object",
            "description": "The digits are in this answer only.",
            "properties": {
                "id": ID,
                "kind": {"type": "string"},
                "pin": {"type": "string"},
                "keypad": {"type": "string"},
                "expires_at": TS,
            },
        },
        "Engineer": {
            "type": "object",
            "properties": {
                "id": ID,
                "name": {"type": "string"},
                "phone": {"type": "string"},
                "email": {"type": ["string", "null"]},
                "timezone": {"type": "string"},
                "active": {"type": "boolean"},
            },
        },
    }
    responses = {
        f"E{code}": {
            "description": text,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for code, text in _errors(400, 401, 403, 404, 409)["x-descriptions"].items()
    }
    manager = {"description": "Managers only."}
    paths: dict[str, Any] = {
        "/tickets": {
            "get": _op(
                "List and search tickets", _json(_ref("TicketPage")), 400, parameters=FILTERS
            )
        },
        "/tickets/{ticket_id}": {
            "parameters": _path_id("ticket_id"),
            "get": _op("Read a ticket with its timeline", _json(_ref("Ticket")), 404),
            "patch": _op(
                "Change a ticket's status",
                _json(_ref("Ticket")),
                400,
                404,
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["status"],
                        "additionalProperties": False,
                        "properties": {"status": STATUS},
                    }
                ),
            ),
        },
        "/tickets/{ticket_id}/notes": {
            "parameters": _path_id("ticket_id"),
            "post": _op(
                "Add a note to a ticket",
                _json(_ref("Note"), "Created"),
                400,
                404,
                status="201",
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["body"],
                        "properties": {
                            "body": {"type": "string", "minLength": 1, "maxLength": 10000},
                            "kind": {"type": "string", "enum": ["note", "message"]},
                        },
                    }
                ),
            ),
        },
        "/accounts": {
            "get": _op(
                "List accounts with entitlement",
                _json(
                    {
                        "type": "object",
                        "properties": {"accounts": {"type": "array", "items": _ref("Account")}},
                    }
                ),
                403,
                **manager,
                parameters=[{"name": "q", "in": "query", "schema": {"type": "string"}}],
            )
        },
        "/accounts/{account_id}": {
            "parameters": _path_id("account_id"),
            "get": _op("Read an account", _json(_ref("Account")), 403, 404, **manager),
        },
        "/accounts/{account_id}/licences": {
            "parameters": _path_id("account_id"),
            "get": _op(
                "List licences",
                _json(
                    {
                        "type": "object",
                        "properties": {"licences": {"type": "array", "items": _ref("Licence")}},
                    }
                ),
                403,
                404,
                **manager,
            ),
            "post": _op(
                "Issue licences",
                _json(_ref("Licence"), "Created"),
                400,
                403,
                404,
                status="201",
                **manager,
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["kind", "quantity"],
                        "properties": {
                            "kind": {"type": "string", "enum": ["user", "support"]},
                            "quantity": {"type": "integer", "minimum": 1},
                            "days": {"type": "integer", "minimum": 1},
                        },
                    }
                ),
            ),
        },
        "/accounts/{account_id}/pins": {
            "parameters": _path_id("account_id"),
            "get": _op(
                "List PINs (never digits)",
                _json(
                    {
                        "type": "object",
                        "properties": {"pins": {"type": "array", "items": _ref("Pin")}},
                    }
                ),
                403,
                404,
                **manager,
            ),
            "post": _op(
                "Renew, issue or clear a PIN",
                _json(_ref("IssuedPin"), "Created"),
                400,
                403,
                404,
                409,
                status="201",
                **manager,
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["action"],
                        "properties": {
                            "action": {
                                "type": "string",
                                "enum": ["renew", "standing", "one_time", "privileged", "clear"],
                            },
                            "expires_in_days": {"type": "integer", "minimum": 1},
                        },
                    }
                ),
            ),
        },
        "/engineers": {
            "get": _op(
                "List engineers",
                _json(
                    {
                        "type": "object",
                        "properties": {"engineers": {"type": "array", "items": _ref("Engineer")}},
                    }
                ),
                403,
                **manager,
            )
        },
        "/engineers/{engineer_id}": {
            "parameters": _path_id("engineer_id"),
            "get": _op("Read an engineer", _json(_ref("Engineer")), 403, 404, **manager),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sev-1 Hotline API",
            "version": "1",
            "description": "Tickets, accounts, licences, PINs and engineers. Authenticate with "
            "'Authorization: Bearer <token>'; make a token on your dashboard profile page.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": responses,
        },
        "paths": paths,
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI document (public: it describes the API, it holds no data)."""
    return jsonify(document(url_for("api.openapi", _external=False).rsplit("/", 1)[0]))
