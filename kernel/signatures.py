"""Twilio request signatures, checked against the public URL and the raw body Twilio sent.

The signature covers the URL plus every parameter's name and value concatenated, so it
cannot tell `CallSid=CA..&CallStatus=x` from one `CallSid` whose value swallowed the rest.
We therefore validate the form exactly as the body carries it (no duplicate names), then
check that the identifiers have Twilio's shapes, and hand the views only that signed form.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl

from flask import Response, current_app, g, request
from twilio.request_validator import RequestValidator

from kernel import twilio_fields
from kernel.config import settings_of

log = logging.getLogger(__name__)
View = TypeVar("View", bound=Callable[..., Any])


def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL, the path, and the query exactly as sent."""
    # Behind a proxy request.url shows the internal host; Twilio signed the public one.
    base = settings_of(current_app).public_base_url
    query = request.query_string.decode("latin-1")
    url = base + request.path + (f"?{query}" if query else "")
    # Connection-override fragments (#rc=2...) are never part of the signature.
    return url.split("#", 1)[0]


def raw_form() -> dict[str, str] | None:
    """The body's form fields exactly as sent, or None when a name repeats or it won't decode."""
    body = request.get_data(cache=True)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    # Twilio sends each parameter once; a repeated name is a request it did not make.
    return form if len(form) == len(pairs) else None


def _shapes_ok(form: Mapping[str, str]) -> bool:
    """Voice requests name a Twilio-shaped CallSid and our account (when one is configured)."""
    if "CallSid" not in form:
        return True  # e.g. an SMS status callback: it names a MessageSid instead
    if not twilio_fields.call_sid(form["CallSid"]):
        return False
    ours = settings_of(current_app).twilio_account_sid
    account = form.get("AccountSid", "")
    return account == ours if ours else twilio_fields.is_account_sid(account)


def request_is_signed() -> bool:
    """True when X-Twilio-Signature matches this request's raw form under our auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    form = raw_form()
    if form is None:
        return False
    validator = RequestValidator(settings_of(current_app).twilio_auth_token)
    if not validator.validate(public_url(), form, signature) or not _shapes_ok(form):
        return False
    g.twilio_form = form
    return True


def signed_form() -> Mapping[str, str]:
    """The signed form of the current request (only inside a @twilio_signed view)."""
    form: Mapping[str, str] = g.twilio_form
    return form


def twilio_signed(view: View) -> View:
    """Refuse (403, no side effects) a request that Twilio did not sign exactly as it reads."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request_is_signed():
            log.warning(
                "refused unsigned or forged Twilio request to %s (CallSid %s)",
                request.path,
                twilio_fields.call_sid(request.form.get("CallSid")) or "-",
            )
            return Response("Forbidden: invalid Twilio signature\n", 403, mimetype="text/plain")
        return view(*args, **kwargs)

    return cast(View, wrapper)
