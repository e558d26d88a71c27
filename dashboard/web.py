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


# What each error page tells a person, in place of the framework's stock text.
ERROR_TEXT = {
    403: ("Not allowed", "Your user cannot open this page. Ask a manager if you need it."),
    404: ("Not found", "There is no such page, or what it showed was removed."),
    405: ("Not allowed", "This address does not take that kind of request."),
    500: (
        "Something went wrong",
        "The hotline could not show this page. Nothing you entered was lost; try again in a "
        "moment, and tell your administrator if it keeps happening.",
    ),
}


def _error_page(exc: HTTPException) -> Response:
    return error_page(exc)


def error_page(exc: HTTPException, bare: bool = False) -> Response:
    """The dashboard's own page for an HTTP error (`bare`: no navigation, no database)."""
    code = exc.code or 500
    title, default_text = ERROR_TEXT.get(code, (exc.name, exc.description or ""))
    # A page's own description (a form that expired, a manager-only page) says more.
    own = exc.description if exc.description != type(exc).description else None
    try:
        body = render_template(
            "dashboard/error.html",
            code=code,
            name=title,
            description=own or default_text,
            bare=bare,
        )
    except Exception:  # the error page must never itself fail
        if bare:
            body = f"<!doctype html><title>{code}</title><h1>{code} · {title}</h1>"
        else:
            return error_page(exc, bare=True)
    response = Response(body, status=code, mimetype="text/html")
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return _security_headers(response)


def sentence(message: str) -> str:
    """A message as a sentence: first letter capitalised (only), full stop at the end."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
