"""The API blueprint, bearer-token authentication, roles and JSON errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from dashboard.users import TokenCheck, TokenRefusal, check_token
from kernel.db import get_session
from models import utcnow
from models.users import User

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])


class ApiError(Exception):
    """An error answered as JSON: status, message and, for bad input, the fields at fault."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def fail(status: int, message: str, fields: dict[str, str] | None = None) -> NoReturn:
    """Stop the request with a JSON error."""
    raise ApiError(status, message, fields)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": {"status": exc.status, "message": exc.message}}
    if exc.fields:
        body["error"]["fields"] = exc.fields
    response = jsonify(body)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
    return response, exc.status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    return jsonify({"error": {"status": status, "message": exc.description}}), status


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def api_user() -> User:
    """The user the request's bearer token belongs to, else a 401."""
    if "api_user" in g:
        found: User = g.api_user
        return found
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        fail(401, "send an API token as 'Authorization: Bearer <token>'")
    session = get_session()
    check = check_token(session, secret.strip(), utcnow())
    user = check.user
    if user is None:
        fail(401, refusal_message(check))
    session.commit()
    g.api_user = user
    return user


def refusal_message(check: TokenCheck) -> str:
    """Why a token was refused, in words that say what to do."""
    match check.refusal:
        case TokenRefusal.EXPIRED:
            when = check.expired_at.strftime("%Y-%m-%dT%H:%M:%SZ") if check.expired_at else "?"
            return f"the API token expired at {when}; make a new one on your dashboard profile page"
        case TokenRefusal.REVOKED:
            return (
                "the API token was revoked (by its owner, a password change or a deactivation); "
                "make a new one on your dashboard profile page"
            )
        case TokenRefusal.INACTIVE:
            return "the API token belongs to an inactive user"
        case _:
            return "the API token is unknown"


def token_required(view: F) -> F:
    """Any valid token (engineers and managers)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        api_user()
        return view(*args, **kwargs)

    return cast(F, wrapped)


def manager_token_required(view: F) -> F:
    """A valid token of a manager; engineers get 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not api_user().is_manager:
            fail(403, "this endpoint is for managers")
        return view(*args, **kwargs)

    return cast(F, wrapped)
