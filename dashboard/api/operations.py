"""An API operation declared once: the shapes it validates its input with, the shapes it answers
with, and so its entry in the OpenAPI document.

A view decorated with `operation(...)` receives its validated JSON body as `body=` and its
validated query string as `query=`, and returns a response shape; the decorator picks the status
that shape is declared under and serialises it. Bad input is a 400 naming each field at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request
from pydantic import BaseModel, ValidationError

from dashboard.api.base import fail
from dashboard.api.schemas import Input, Shape

OPERATION_ATTRIBUTE = "api_operation"
M = TypeVar("M", bound=Input)
# The name an error gives a body that is wrong as a whole (not JSON, not an object).
WHOLE_BODY = "request_body"

View = Callable[..., Shape]
FlaskView = Callable[..., Response]


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one view, and what the view enforces."""

    summary: str
    responses: Mapping[int, type[Shape]]
    description: str = ""
    body: type[Input] | None = None
    query: type[Input] | None = None
    errors: frozenset[int] = field(default_factory=frozenset)
    managers_only: bool = False

    def status_of(self, reply: Shape) -> int:
        """The success status `reply`'s shape is declared under."""
        for status, shape in self.responses.items():
            if type(reply) is shape:
                return status
        # A programming error, caught by the tests that validate every response.
        raise TypeError(f"{type(reply).__name__} is not a declared response of {self.summary!r}")


def operation(
    summary: str,
    *,
    responses: Mapping[int, type[Shape]],
    body: type[Input] | None = None,
    query: type[Input] | None = None,
    errors: tuple[int, ...] = (),
    managers_only: bool = False,
) -> Callable[[View], FlaskView]:
    """Validate the view's input and serialise its reply with the shapes given here."""

    def decorate(view: View) -> FlaskView:
        declared = Operation(
            summary=summary,
            responses=dict(responses),
            description=(view.__doc__ or "").strip(),
            body=body,
            query=query,
            errors=frozenset(errors),
            managers_only=managers_only,
        )

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            reply = view(*args, **kwargs)
            return json_response(reply, declared.status_of(reply))

        setattr(wrapped, OPERATION_ATTRIBUTE, declared)
        return wrapped

    return decorate


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The operation declared on a view, through any decorators wrapped around it."""
    current: Any = view
    while current is not None:
        found = getattr(current, OPERATION_ATTRIBUTE, None)
        if isinstance(found, Operation):
            return found
        current = getattr(current, "__wrapped__", None)
    return None


def json_response(reply: BaseModel, status: int) -> Response:
    """A shape as the JSON body of a response."""
    return Response(
        reply.model_dump_json(by_alias=True), status=status, mimetype="application/json"
    )


def parse_body(shape: type[M]) -> M:
    """The request's JSON object validated as `shape`, else a 400 naming the fields."""
    if not request.is_json:
        fail(400, "send a JSON object with Content-Type: application/json")
    try:
        # Strict: JSON has numbers and booleans, so "3" or true is not a quantity.
        return shape.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        fail(400, "invalid request body", fields_of(exc))


def parse_query(shape: type[M]) -> M:
    """The query string validated as `shape` (blank values count as absent), else a 400."""
    given = {name: value for name, value in request.args.items() if value.strip()}
    try:
        return shape.model_validate(given)
    except ValidationError as exc:
        fail(400, "invalid query", fields_of(exc))


def fields_of(error: ValidationError) -> dict[str, str]:
    """Each field at fault (dotted path, as the client spelled it) and what is wrong with it."""
    fields: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        name = ".".join(str(part) for part in problem["loc"]) or WHOLE_BODY
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "not a field this endpoint accepts"
        fields.setdefault(name, message)
    return fields
