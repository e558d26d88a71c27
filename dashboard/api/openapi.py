"""The OpenAPI 3.1 document, generated from the API's routes and the shapes they declare, served
at /api/v1/openapi.json.

Nothing here is typed by hand but prose: paths come from the URL map, schemas from the pydantic
shapes the views validate and serialise with (pydantic writes JSON Schema 2020-12, the dialect
OpenAPI 3.1 uses), so the document cannot drift from what the API does.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from dashboard.api.base import bp
from dashboard.api.operations import Operation, operation_of
from dashboard.api.schemas import Error

REF = "#/components/schemas/{model}"
ERROR_TEXTS = {
    400: "Invalid input",
    401: "Missing or bad token",
    403: "Not allowed for this role",
    404: "Not found",
    409: "Conflicts with the current state",
}
SUCCESS_TEXTS = {200: "OK", 201: "Created"}
# Werkzeug's converters as OpenAPI parameter schemas; routes use no others.
CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "default": {"type": "string"},
}
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _operations(app: Flask) -> list[tuple[str, str, str, Operation]]:
    """(path below the prefix, method, endpoint, operation) of every documented API route."""
    prefix = bp.url_prefix or ""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}."):
            continue
        declared = operation_of(app.view_functions[rule.endpoint])
        if declared is None:
            continue  # the document itself
        path = rule.rule.removeprefix(prefix)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), rule.endpoint, declared))
    return found


def _path_parameters(flask_path: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path template and its parameters, from a Flask rule."""
    parameters = [
        {
            "name": match["name"],
            "in": "path",
            "required": True,
            "schema": CONVERTER_SCHEMAS[match["converter"] or "default"],
        }
        for match in _ARGUMENT.finditer(flask_path)
    ]
    return _ARGUMENT.sub(lambda m: "{" + m["name"] + "}", flask_path), parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema without its null branch (absent, not null, in a query)."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**branches[0], **rest}


def _query_parameters(shape_schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(shape_schema.get("required", []))
    parameters = []
    for name, schema in shape_schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(schema),
        }
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


def _schemas(
    operations: list[tuple[str, str, str, Operation]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The component schemas of every shape used, and each query shape's own schema."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Error, "serialization"): None}
    for _, _, _, declared in operations:
        for shape in declared.responses.values():
            wanted[(shape, "serialization")] = None
        if declared.body is not None:
            wanted[(declared.body, "validation")] = None
        if declared.query is not None:
            wanted[(declared.query, "validation")] = None
    _, top = models_json_schema(list(wanted), ref_template=REF)
    components: dict[str, Any] = top.get("$defs", {})
    queries = {}
    for _, _, _, declared in operations:
        if declared.query is not None:
            # A query shape becomes parameters, not a schema of its own.
            queries[declared.query.__name__] = components.pop(declared.query.__name__, None)
    return components, {k: v for k, v in queries.items() if v is not None}


def _ref(shape: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=shape.__name__)}


def _operation_object(
    endpoint: str, declared: Operation, has_path_parameters: bool, queries: dict[str, Any]
) -> dict[str, Any]:
    errors = {401, *declared.errors}
    if declared.managers_only:
        errors.add(403)
    if declared.body is not None or declared.query is not None:
        errors.add(400)
    if has_path_parameters:
        errors.add(404)
    responses: dict[str, Any] = {
        str(status): {
            "description": SUCCESS_TEXTS.get(status, "OK"),
            "content": {"application/json": {"schema": _ref(shape)}},
        }
        for status, shape in sorted(declared.responses.items())
    }
    responses |= {str(code): {"$ref": f"#/components/responses/E{code}"} for code in sorted(errors)}
    description = declared.description
    if declared.managers_only:
        description = f"{description} Managers only.".strip()
    result: dict[str, Any] = {
        "operationId": endpoint.removeprefix(f"{bp.name}."),
        "summary": declared.summary,
        "description": description,
        "responses": responses,
    }
    if declared.query is not None:
        result["parameters"] = _query_parameters(queries[declared.query.__name__])
    if declared.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(declared.body)}},
        }
    return result


def document(app: Flask, server_url: str) -> dict[str, Any]:
    """The whole OpenAPI document of `app`'s API."""
    operations = _operations(app)
    schemas, queries = _schemas(operations)
    paths: dict[str, Any] = {}
    for flask_path, method, endpoint, declared in operations:
        template, parameters = _path_parameters(flask_path)
        item = paths.setdefault(template, {})
        if parameters:
            item["parameters"] = parameters
        item[method] = _operation_object(endpoint, declared, bool(parameters), queries)
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
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": {"application/json": {"schema": _ref(Error)}},
                }
                for code, text in ERROR_TEXTS.items()
            },
        },
        "paths": dict(sorted(paths.items())),
    }


# Served documents by what they are made from (the API's routes and the server URL): building
# one takes tens of milliseconds of pydantic schema work, and it only changes with the code.
_served: dict[tuple[str, tuple[tuple[str, str, str], ...]], str] = {}


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI document (public: it describes the API, it holds no data)."""
    server_url = url_for("api.openapi", _external=False).rsplit("/", 1)[0]
    routes = tuple(
        (path, method, endpoint) for path, method, endpoint, _ in _operations(current_app)
    )
    key = (server_url, routes)
    if key not in _served:
        _served[key] = current_app.json.dumps(document(current_app, server_url))
    return current_app.response_class(_served[key], mimetype="application/json")
