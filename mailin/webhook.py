"""POST /mail/inbound: Mailgun's inbound routes (forward() to this URL), signature checked.

Mailgun signs each POST with `signature` = HMAC-SHA256(signing key, timestamp + token), hex.
We refuse a wrong signature (403), a timestamp older or newer than MAIL_WEBHOOK_MAX_AGE, and a
token seen before (a replay: the signature covers only timestamp and token). Both of Mailgun's
formats are taken: raw MIME (`body-mime`, a route URL ending in "mime": /mail/inbound/mime) and
fully parsed fields, rebuilt here into one MIME message. Answers: 200 stored; 406 refused for
good (Mailgun does not retry: too large, no message); anything else is retried by Mailgun.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from email.message import EmailMessage

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError

from kernel.config import settings_of
from kernel.queue import get_redis
from kernel.services import services_of
from mailin.receive import receive
from tickets.mail.store import MailTooLarge

log = logging.getLogger(__name__)
bp = Blueprint("mailin", __name__, url_prefix="/mail")
# Parsed-form fields that are the envelope or the signature, not the message.
_SKIP_HEADERS = {"content-type", "content-transfer-encoding", "mime-version"}


def _answer(text: str, status: int) -> Response:
    return Response(text + "\n", status, mimetype="text/plain")


def signature_ok(key: str, timestamp: str, token: str, signature: str) -> bool:
    """Mailgun's check: the hex HMAC-SHA256 of timestamp + token under the signing key."""
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@bp.before_request
def _allow_big_mail() -> None:
    # A message with attachments is far larger than a webhook form; the intake's own limit
    # applies (a form's encoding adds about a third).
    limit = settings_of(current_app).mail.max_bytes * 4 // 3 + 65536
    request.max_content_length = limit
    # A raw message comes as one form field (body-mime): Flask's own 500 KB cap on a form
    # field would refuse it (413), and the provider would drop the mail after its retries.
    request.max_form_memory_size = limit


@bp.post("/inbound")
@bp.post("/inbound/mime")
def inbound() -> Response:
    """Store one message Mailgun received, then queue its processing."""
    settings = settings_of(current_app)
    key = settings.mail.mailgun_signing_key
    if not key:
        return _answer("Inbound mail webhook not configured (MAILGUN_WEBHOOK_SIGNING_KEY)", 503)
    form = request.form
    timestamp, token = form.get("timestamp", ""), form.get("token", "")
    if not (
        timestamp.isdigit()
        and token
        and signature_ok(key, timestamp, token, form.get("signature", ""))
    ):
        log.warning("mail webhook: bad signature from %s", request.remote_addr)
        return _answer("Bad signature", 403)
    if abs(time.time() - int(timestamp)) > settings.mail.webhook_max_age_seconds:
        return _answer("Signature too old", 403)
    try:
        fresh = get_redis().set(
            f"mailgun-token:{token[:100]}", 1, nx=True, ex=settings.mail.webhook_max_age_seconds * 2
        )
    except RedisError:
        fresh = True  # timestamp and signature still hold; the message must not be lost
    if not fresh:
        return _answer("Token already used", 403)
    raw = _raw_message()
    if not raw:
        return _answer("No message in the request (body-mime or body-plain)", 406)
    headers = _provider_headers(raw)
    try:
        stored = receive(
            services_of(current_app),
            raw,
            "mailgun",
            form.get("sender", ""),
            spf=headers.get("x-mailgun-spf"),
            dkim=headers.get("x-mailgun-dkim-check-result"),
        )
    except MailTooLarge as exc:
        return _answer(f"Message refused: {exc}", 406)
    except Exception:
        # Not stored: the provider retries with the same token, which must then be let in.
        with contextlib.suppress(RedisError):
            get_redis().delete(f"mailgun-token:{token[:100]}")
        raise
    return _answer(
        f"Stored as {stored.mail_id}" + (" (seen before)" if stored.duplicate else ""), 200
    )


def _raw_message() -> bytes:
    mime = request.form.get("body-mime")
    if mime:
        return mime.encode("utf-8", "surrogateescape")
    if "body-plain" not in request.form and "body-html" not in request.form:
        return b""
    return rebuild().as_bytes()


def rebuild() -> EmailMessage:
    """One MIME message from Mailgun's parsed fields: its headers, text, HTML, attachments."""
    form = request.form
    message = EmailMessage()
    try:
        pairs = json.loads(form.get("message-headers") or "[]")
    except ValueError:
        pairs = []
    for pair in pairs if isinstance(pairs, list) else []:
        if not (isinstance(pair, list) and len(pair) == 2):
            continue
        name, value = str(pair[0]), str(pair[1])
        if name.lower() in _SKIP_HEADERS or name.lower() in (k.lower() for k in message):
            continue
        try:
            message[name] = value
        except (ValueError, TypeError):
            continue  # a header the modern API will not take: the parsed fields still hold
    for name, field in (("Subject", "subject"), ("From", "from")):
        if name not in message and form.get(field):
            message[name] = form[field]
    message.set_content(form.get("body-plain", ""))
    if form.get("body-html"):
        message.add_alternative(form["body-html"], subtype="html")
    for upload in request.files.values():
        data = upload.read()
        upload.close()
        maintype, _, subtype = (upload.mimetype or "application/octet-stream").partition("/")
        message.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=upload.filename or "file",
        )
    return message


def _provider_headers(raw: bytes) -> dict[str, str]:
    """Mailgun's own verdict headers (SPF, DKIM), lower-cased names, first value each."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    found: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.lower() in ("x-mailgun-spf", "x-mailgun-dkim-check-result"):
            found.setdefault(name.lower(), value.strip()[:32])
    return found
