"""The blueprint every dashboard page module uses: CSRF check, security headers, error pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import HTTPException

from dashboard.security import check_csrf

# A strict policy: only our own scripts, no framing, no plugins, forms post only here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' https:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)


def page_blueprint(name: str, import_name: str, url_prefix: str, **options: Any) -> Blueprint:
    """A dashboard blueprint with CSRF checking, security headers and HTML error pages."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix, **options)
    bp.before_request(check_csrf)
    bp.after_request(_security_headers)
    bp.register_error_handler(HTTPException, _error_page)
    return bp


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "dashboard_auth.static":
        # Pages hold customer data: never keep them in shared caches.
        response.headers.setdefault("Cache-Control", "private, no-cache")
    return response


def _error_page(exc: HTTPException) -> Response:
    body = render_template(
        "dashboard/error.html", code=exc.code, name=exc.name, description=exc.description
    )
    return Response(body, status=exc.code, mimetype="text/html")


def sentence(message: str) -> str:
    """A message as a sentence: first letter capitalised (only), full stop at the end."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
