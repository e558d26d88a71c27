"""Twilio request signatures, checked against the public URL Twilio actually called."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, request
from twilio.request_validator import RequestValidator

from hotline.app import settings_of

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


def request_is_signed() -> bool:
    """True when X-Twilio-Signature matches this request under our auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(settings_of(current_app).twilio_auth_token)
    return bool(validator.validate(public_url(), request.form, signature))


def twilio_signed(view: View) -> View:
    """Refuse (403, no side effects) a request that Twilio did not sign."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request_is_signed():
            log.warning(
                "refused unsigned or forged Twilio request to %s (CallSid %s)",
                request.path,
                request.form.get("CallSid", "-"),
            )
            return Response("Forbidden: invalid Twilio signature\n", 403, mimetype="text/plain")
        return view(*args, **kwargs)

    return cast(View, wrapper)
