"""The baseline for bench/call_storm.py: a bare Flask app that checks Twilio's signature and
answers static TwiML, so the storm can say what the hotline costs beyond a signed request.

Served by gunicorn exactly like the hotline: `gunicorn 'bare_twiml:create_app()'` run in bench/,
with TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL in the environment.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/ivr/pin" input="dtmf" '
    'numDigits="8" timeout="6"><Say>Welcome to the severity one hotline. Please enter your '
    "support PIN.</Say></Gather></Response>"
)


def create_app() -> Flask:
    """The bare app: every POST is signature-checked and answered with the same TwiML."""
    app = Flask(__name__)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    base = os.environ["PUBLIC_BASE_URL"]

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/<path:path>")
    def webhook(path: str) -> Response:
        query = request.query_string.decode("latin-1")
        url = f"{base}/{path}" + (f"?{query}" if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(url, request.form.to_dict(), signature):
            return Response("forbidden\n", 403, mimetype="text/plain")
        return Response(TWIML, mimetype="text/xml")

    return app
