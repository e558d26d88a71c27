"""Webhooks of a severity-1 call's ringing: the caller's hold loop and each engineer's leg."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, current_app, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from ivr import degraded, engineer_flow, prompts
from ivr.languages import catalogue
from ivr.states import Webhook
from ivr.steps import Goodbye, Step, Then
from ivr.views import (
    _caller_webhook,
    _now,
    _render,
    _url,
    _xml,
    bp,
    callback_trouble,
    carry_out,
    split,
)
from kernel import twilio_fields as fields
from kernel.breaker import current_breaker
from kernel.config import settings_of
from kernel.db import get_session
from kernel.signatures import signed_form, twilio_signed
from models.ringing import RingAttempt

log = logging.getLogger(__name__)


def _attempt(session: Session) -> RingAttempt | None:
    """The ring attempt this engineer leg belongs to, or None when the request can't be it."""
    attempt_id = fields.positive_id(request.args.get("attempt"))
    attempt = session.get(RingAttempt, attempt_id) if attempt_id is not None else None
    if attempt is None:
        return None
    # Once Twilio has given the leg's CallSid, only that leg speaks for the attempt: a forged
    # attempt id from another call can't accept (or end) anyone's call.
    leg_sid = fields.call_sid(signed_form().get("CallSid"))
    if attempt.leg_sid is not None and attempt.leg_sid != leg_sid:
        log.warning("engineer webhook for attempt %s from another leg", attempt.id)
        return None
    return attempt


@bp.post("/hold")
@twilio_signed
def hold() -> ResponseReturnValue:
    """The caller's hold loop (Enqueue waitUrl): escalate when due, say where things stand."""
    waited = fields.seconds(signed_form().get("QueueTime"))
    return _caller_webhook(
        Webhook.HOLD, lambda s, call, now: engineer_flow.hold(s, call, waited, now)
    )


@bp.post("/hold-key")
@twilio_signed
def hold_key() -> ResponseReturnValue:
    """A key pressed on hold (the hold loop's Gather): 1 leaves a message instead."""
    form = signed_form()
    keys = fields.digits(form.get("Digits")) or ""
    waited = fields.seconds(form.get("QueueTime"))
    return _caller_webhook(
        Webhook.HOLD_KEY, lambda s, call, now: engineer_flow.hold_key(s, call, keys, now, waited)
    )


@bp.post("/through")
@twilio_signed
def through() -> ResponseReturnValue:
    """Said to the caller as the engineer takes them off hold (the Dial Queue url)."""
    language = fields.free_text(request.args.get("lang"), 16)
    p = catalogue(language or None)
    response = VoiceResponse()
    response.say(p.THROUGH, language=p.language)
    return _xml(str(response))


@bp.post("/queue-done")
@twilio_signed
def queue_done() -> ResponseReturnValue:
    """The caller left the hold queue (Enqueue action)."""
    result = fields.queue_result(signed_form().get("QueueResult"))
    return _caller_webhook(
        Webhook.QUEUE_DONE, lambda s, call, now: engineer_flow.queue_done(s, call, result, now)
    )


@bp.post("/no-engineer")
@twilio_signed
def no_engineer() -> ResponseReturnValue:
    """Every engineer was tried: the caller is redirected here to leave a message."""
    return _caller_webhook(Webhook.NO_ENGINEER, engineer_flow.no_engineer)


def _engineer_leg(run: Callable[[Session, RingAttempt | None], Step | Then]) -> Response:
    """Run one step of an engineer's leg; any failure ends the leg politely, never a 500."""
    session = get_session()
    attempt: RingAttempt | None = None
    try:
        current_breaker().check()
        attempt = _attempt(session)
        with session.no_autoflush:
            step, progress = split(run(session, attempt))
            document = _render(step)
        session.commit()
        if attempt is not None:
            carry_out(progress, attempt.call_id)
        return _xml(document)
    except Exception:
        session.rollback()
        leg_sid = fields.call_sid(signed_form().get("CallSid")) or "-"
        log.exception("engineer webhook %s failed for CallSid %s", request.path, leg_sid)
        # Nothing was written, so the ringing is as it was: keep a willing engineer on the
        # line and ask again, and only after a minute send them to the hotline's number.
        attempt_id = fields.positive_id(request.args.get("attempt"))
        retry = fields.counter(request.args.get("retry")) or 0
        hotline = settings_of(current_app).hotline_number
        return _xml(degraded.engineer_stay(_url, attempt_id, retry, hotline))


@bp.post("/engineer")
@twilio_signed
def engineer() -> ResponseReturnValue:
    """An engineer answered our call: the whisper."""
    return _engineer_leg(lambda s, attempt: engineer_flow.engineer_answered(s, attempt, _now()))


def _on_engineer_answer() -> Response:
    keys = fields.digits(signed_form().get("Digits"))
    if keys is None:
        return _xml(_render(Goodbye(prompts.WHISPER_NO_KEY)))
    return _engineer_leg(
        lambda s, attempt: engineer_flow.engineer_pressed(s, attempt, keys, _now())
    )


@bp.post("/engineer-answer")
@twilio_signed
def engineer_answer() -> ResponseReturnValue:
    """The engineer pressed a key (or nothing) at the whisper."""
    return _on_engineer_answer()


@bp.post("/engineer-fallback")
@twilio_signed
def engineer_fallback() -> ResponseReturnValue:
    """An engineer leg's fallback URL (the web worker died): the same step again, or the whisper.

    The attempt comes from our own URL's query, as on every engineer webhook; its leg check
    and the call's lock keep a second run from doing anything twice.
    """
    error_path = urlsplit(signed_form().get("ErrorUrl") or "").path
    log.error("engineer fallback used for attempt %s (%s)", request.args.get("attempt"), error_path)
    if error_path == url_for("ivr.engineer_answer"):
        return _on_engineer_answer()
    return _engineer_leg(lambda s, attempt: engineer_flow.engineer_answered(s, attempt, _now()))


@bp.post("/engineer-status")
@twilio_signed
def engineer_status() -> ResponseReturnValue:
    """Status callbacks of an engineer leg: ringing, answered, and how it ended."""
    status = fields.call_status(signed_form().get("CallStatus"))
    if not engineer_flow.leg_status_matters(status):
        return Response(status=204)
    session = get_session()
    try:
        current_breaker().check()
        attempt = _attempt(session)
        with session.no_autoflush:
            progress = engineer_flow.engineer_leg_status(session, attempt, status, _now())
        session.commit()
        if attempt is not None:
            carry_out(progress, attempt.call_id)
    except Exception as exc:
        session.rollback()
        log.exception("engineer status callback failed for attempt %s", request.args.get("attempt"))
        return callback_trouble(exc)
    return Response(status=204)
