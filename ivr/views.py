"""Twilio voice webhooks: read the form, run one flow step, answer with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from hotline.app import settings_of
from hotline.db import get_session
from hotline.signatures import twilio_signed
from ivr import flow, twiml
from ivr.steps import Step, Then
from models import Call
from routing.dialer import dialer_of
from routing.ringing import Progress
from tickets.calls import find_call, open_call

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
log = logging.getLogger(__name__)

CallerStep = Callable[[Session, Call, datetime], Step | Then]


def _now() -> datetime:
    return datetime.now(UTC)


def _url(endpoint: str, **params: Any) -> str:
    """An absolute URL under PUBLIC_BASE_URL, so Twilio signs what we validate."""
    return settings_of(current_app).public_base_url + url_for(endpoint, **params)


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _render(step: Step) -> str:
    return twiml.render(step, _url, settings_of(current_app).pin_length)


def split(result: Step | Then) -> tuple[Step, Progress]:
    """The step to answer with, and the ringing work to do once it is committed."""
    if isinstance(result, Then):
        return result.step, result.progress
    return result, Progress()


def carry_out(progress: Progress, call_id: int) -> None:
    """Hand committed ringing work to the dialer (REST calls never hold up a webhook)."""
    if progress.place or progress.cancel or progress.exhausted:
        dialer_of(current_app).carry_out(progress, call_id)


def _config() -> flow.FlowConfig:
    settings = settings_of(current_app)
    return flow.FlowConfig(
        pin_policy=PinPolicy.from_settings(settings),
        oncall_number=settings.oncall_number,
        emergency_number=settings.emergency_number,
        account_management_number=settings.account_management_number,
        customer_portal=settings.customer_portal_url,
    )


def _fallback_twiml() -> Response:
    return _xml(twiml.fallback(settings_of(current_app).emergency_number, False, _url))


def _caller_webhook(run: CallerStep) -> Response:
    """Run one step of the caller's call: idempotent, committed, and never a 500."""
    form = request.form
    call_sid = form.get("CallSid", "")
    token = request.headers.get("I-Twilio-Idempotency-Token")
    session = get_session()
    try:
        call = open_call(session, call_sid, form.get("From", ""), form.get("To", ""), _now())
        if token and call.last_webhook_token == token and call.last_reply is not None:
            # Twilio retried a webhook we already answered: same answer, no second effect.
            return _xml(call.last_reply)
        # Writes are flushed once at commit, not before each read the step makes.
        with session.no_autoflush:
            step, progress = split(run(session, call, _now()))
            document = _render(step)
        call.last_webhook_token = token
        call.last_reply = document
        session.commit()
        carry_out(progress, call.id)
        return _xml(document)
    except Exception:
        session.rollback()
        log.exception("voice webhook %s failed for CallSid %s", request.path, call_sid or "-")
        # The caller must never hear "an application error": reach a human or keep a message.
        return _fallback_twiml()


@bp.post("/voice")
@twilio_signed
def voice() -> ResponseReturnValue:
    """A call comes in: open its ticket, greet, ask for the PIN."""
    return _caller_webhook(flow.start)


@bp.post("/pin")
@twilio_signed
def pin() -> ResponseReturnValue:
    """The caller typed a PIN (or nothing)."""
    keys = request.form.get("Digits", "")
    config = _config()
    return _caller_webhook(lambda s, call, now: flow.on_pin(s, call, keys, now, config))


@bp.post("/product")
@twilio_signed
def product() -> ResponseReturnValue:
    """The caller chose a product from the menu (or nothing)."""
    keys = request.form.get("Digits", "")
    return _caller_webhook(lambda s, call, now: flow.on_product(s, call, keys, now))


@bp.post("/severity")
@twilio_signed
def severity() -> ResponseReturnValue:
    """The caller said whether service is completely down."""
    keys = request.form.get("Digits", "")
    config = _config()
    return _caller_webhook(lambda s, call, now: flow.on_severity(s, call, keys, now, config))


@bp.post("/recorded")
@twilio_signed
def recorded() -> ResponseReturnValue:
    """The caller finished a message (or left none)."""
    url = request.form.get("RecordingUrl", "")
    seconds = request.form.get("RecordingDuration", "")
    return _caller_webhook(lambda s, call, now: flow.on_recorded(s, call, url, seconds, now))


def _callback(run: CallerStep) -> ResponseReturnValue:
    """An asynchronous callback about a known call: record it, answer 204, never fail Twilio."""
    session = get_session()
    call_sid = request.form.get("CallSid", "")
    try:
        call = find_call(session, call_sid)
        if call is None:
            log.warning("callback %s for unknown CallSid %s", request.path, call_sid or "-")
            return Response(status=204)
        _step, progress = split(run(session, call, _now()))
        session.commit()
        carry_out(progress, call.id)
    except Exception:
        session.rollback()
        log.exception("callback %s failed for CallSid %s", request.path, call_sid or "-")
    return Response(status=204)


@bp.post("/transcription")
@twilio_signed
def transcription() -> ResponseReturnValue:
    """Twilio finished transcribing the caller's message."""
    text = request.form.get("TranscriptionText", "")
    status = request.form.get("TranscriptionStatus", "")
    return _callback(lambda s, call, now: flow.on_transcription(s, call, text, status, now))


@bp.post("/recording-status")
@twilio_signed
def recording_status() -> ResponseReturnValue:
    """Twilio stored the recording: keep its URL on the timeline."""
    form = request.form

    def run(session: Session, call: Call, now: datetime) -> Step:
        return flow.on_recording_status(
            session, call, form.get("RecordingUrl", ""), form.get("RecordingStatus", ""), now
        )

    return _callback(run)


@bp.post("/status")
@twilio_signed
def status() -> ResponseReturnValue:
    """The call's status callback: durations, and abandoned tickets."""
    state = request.form.get("CallStatus", "")
    duration = request.form.get("CallDuration", "")
    return _callback(lambda s, call, now: flow.on_status(s, call, state, duration, now))


@bp.post("/fallback")
@twilio_signed
def fallback() -> ResponseReturnValue:
    """Twilio's fallback URL: static TwiML needing neither the database nor Redis."""
    recorded_message = request.args.get("recorded") == "1"
    if recorded_message:
        log.error(
            "fallback voicemail from %s (CallSid %s): %s",
            request.form.get("From", "-"),
            request.form.get("CallSid", "-"),
            request.form.get("RecordingUrl", "-"),
        )
    else:
        log.error(
            "fallback URL used for CallSid %s: ErrorCode %s at %s",
            request.form.get("CallSid", "-"),
            request.form.get("ErrorCode", "-"),
            request.form.get("ErrorUrl", "-"),
        )
    settings = settings_of(current_app)
    return _xml(twiml.fallback(settings.emergency_number, recorded_message, _url))
