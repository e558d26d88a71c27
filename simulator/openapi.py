"""Check REST requests against Twilio's own OpenAPI description (a subset shipped here)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from werkzeug.datastructures import MultiDict

SPEC_FILE = Path(__file__).with_name("twilio_api_v2010_subset.json")
PATHS = [
    "/2010-04-01/Accounts/{AccountSid}/Calls.json",
    "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json",
]

# Twilio's own codes for the missing parameters it names; anything else gets 21201-style text.
MISSING_CODES = {
    ("CreateCall", "To"): (21201, "No 'To' number is specified"),
    ("CreateCall", "From"): (21213, "No 'From' number is specified"),
    ("CreateCall", "Url"): (21205, "Url parameter is required"),
    ("CreateMessage", "To"): (21604, "A 'To' phone number is required."),
    ("CreateMessage", "From"): (21603, "A 'From' phone number is required."),
    ("CreateMessage", "Body"): (21602, "Message body is required."),
}
UNKNOWN_PARAMETER = 20001


@dataclass
class ApiError(Exception):
    """An error answered in Twilio's JSON error format."""

    status: int
    code: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@cache
def spec() -> dict[str, Any]:
    """The shipped subset of twilio_api_v2010.json."""
    with SPEC_FILE.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def operation(path_template: str, method: str) -> dict[str, Any]:
    """The OpenAPI operation object for a path template and HTTP method."""
    op: dict[str, Any] = spec()["paths"][path_template][method.lower()]
    return op


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = spec()["components"]["schemas"][name]
    return node


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def check_form(path_template: str, method: str, form: MultiDict[str, str]) -> None:
    """Raise ApiError if the form breaks the operation's request schema."""
    op = operation(path_template, method)
    op_id = op["operationId"]
    body = op.get("requestBody", {}).get("content", {})
    schema = _resolve(body.get("application/x-www-form-urlencoded", {}).get("schema", {}))
    props: dict[str, Any] = schema.get("properties", {})
    for name in form:
        if name not in props:
            raise ApiError(400, UNKNOWN_PARAMETER, f"Unknown parameter: {name}")
    for name in schema.get("required", []):
        if not form.get(name):
            code, msg = MISSING_CODES.get(
                (op_id, name), (21201, f"Missing required parameter {name} in the post body")
            )
            raise ApiError(400, code, msg)
    by_squash = {_squash(p): p for p in props}
    for group in op.get("x-twilio", {}).get("conditional", []):
        names = [by_squash[_squash(g)] for g in group if _squash(g) in by_squash]
        if not any(form.get(n) for n in names):
            code, msg = MISSING_CODES.get(
                (op_id, names[0]), (21201, f"One of {', '.join(names)} is required")
            )
            raise ApiError(400, code, msg)
    for name, prop in props.items():
        value, schema_ = form.get(name), _resolve(prop)
        if value is None:
            continue
        if (
            schema_.get("format") == "uri"
            and value
            and not value.startswith(("http://", "https://"))
        ):
            raise ApiError(400, 21205, f"{name} is not a valid URL: {value}")
        enum = schema_.get("enum")
        if enum and value not in enum:
            raise ApiError(400, 21201, f"Invalid {name}: {value!r} is not one of {', '.join(enum)}")
        if schema_.get("type") == "integer" and not value.lstrip("-").isdigit():
            raise ApiError(400, 21201, f"Invalid {name}: {value!r} is not an integer")


def check_query(path_template: str, method: str, args: MultiDict[str, str]) -> None:
    """Raise ApiError if a query names a parameter the operation does not take."""
    params = operation(path_template, method).get("parameters", [])
    allowed = {p["name"] for p in params if p.get("in") == "query"}
    for name in args:
        if name not in allowed:
            raise ApiError(400, UNKNOWN_PARAMETER, f"Unknown parameter: {name}")


def resource_fields(schema_name: str) -> list[str]:
    """Property names of a response schema, in the spec's order."""
    return list(spec()["components"]["schemas"][schema_name]["properties"])


def extract_subset(source: Path, target: Path = SPEC_FILE) -> None:
    """Copy the paths this server answers, and the schemas they use, out of the full spec."""
    full = json.loads(source.read_text(encoding="utf-8"))
    out: dict[str, Any] = {k: full[k] for k in ("openapi", "info") if k in full}
    out["paths"] = {p: full["paths"][p] for p in PATHS}
    schemas: dict[str, Any] = {}
    todo = [out["paths"]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] not in schemas:
                name = ref.rsplit("/", 1)[-1]
                schemas[name] = full["components"]["schemas"][name]
                todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    out["components"] = {"schemas": schemas}
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    extract_subset(Path(sys.argv[1]))
