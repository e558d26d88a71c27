"""Secret tokens for the calendar feeds, which calendar apps fetch without signing in."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def feed_token(schedule: str) -> str:
    """The token that opens schedule `schedule`'s feed: an HMAC of its name under SECRET_KEY."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    # A purpose prefix so this HMAC can never equal one the app makes for something else.
    message = b"schedule-ical\0" + schedule.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def feed_token_ok(schedule: str, token: str | None) -> bool:
    """True when `token` opens schedule `schedule`'s feed (compared in constant time)."""
    return bool(token) and hmac.compare_digest(feed_token(schedule), str(token))
