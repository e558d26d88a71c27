"""Twilio voice webhooks: read the signed form, run one flow step, answer with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from ivr import flow, states, twiml
from ivr.dialer import dialer_of
from ivr.states import Webhook
from ivr.steps import Goodbye, Restart, Step, Then, Unchanged
from kernel import twilio_fields as fields
from kernel.config import settings_of
from kernel.db import get_session
from kernel.signatures import signed_form, twilio_signed
from models import Call
from routing.ringing import Progress
from tickets.calls import find_call, lock_call, open_call

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
log = logging.getLogger(__name__)

CallerStep = Callable[[Session, Call, datetime], Step | Then | Unchanged]


def _now() -> datetime:
    return datetime.now(UTC)


def _url(endpoint: str, **params: Any) -> str:
    """An absolute URL under PUBLIC_BASE_URL, so Twilio signs what we validate."""
    return settings_of(current_app).public_base_url + url_for(endpoint, **params)


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _render(step: Step, turn: int | None = None) -> str:
    """TwiML for `step`; the caller's prompts carry `turn`, so only their answer counts once."""

    def url(endpoint: str, **params: Any) -> str:
        return _url(endpoint, **params) if turn is None else _url(endpoint, turn=turn, **params)

    return twiml.render(step, url, settings_of(current_app).pin_length)


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
        severity_targets=dict(settings.severity_target_minutes),
    )


def _may_reach_a_person(call_sid: str) -> bool:
    """True for a call already found entitled, or when its state cannot be read at all."""
    try:
        with current_app.extensions["sessionmaker"]() as session:
            entitled_at = session.scalar(select(Call.entitled_at).where(Call.call_sid == call_sid))
    except Exception:
        # The database is down: a severity-1 caller we cannot check still reaches a human.
        return True
    return entitled_at is not None


def _fallback_twiml(call_sid: str) -> Response:
    emergency = settings_of(current_app).emergency_number
    connect = bool(emergency) and _may_reach_a_person(call_sid)
    return _xml(twiml.fallback(emergency, False, _url, connect=connect))


def _token() -> str | None:
    return request.headers.get("I-Twilio-Idempotency-Token") or None


def _voice(session: Session, call_sid: str) -> Response:
    """The first webhook opens the call; on a known call it only says where the call stands."""
    form = signed_form()
    call = find_call(session, call_sid)
    if call is not None:
        retried = _token() and call.last_webhook_token == _token() and call.ended_at is None
        stored = call.last_reply if retried else None
        document = stored or _render(states.safe_step(call, Webhook.VOICE), call.turn)
        session.rollback()
        return _xml(document)
    now = _now()
    caller, called = fields.phone_number(form.get("From")), fields.phone_number(form.get("To"))
    call = open_call(session, call_sid, caller, called, now)
    document = _render(flow.start(session, call, now), call.turn)
    call.last_webhook_token = _token()
    call.last_reply = document
    session.commit()
    return _xml(document)


def _caller_webhook(webhook: Webhook, run: CallerStep | None) -> Response:
    """Run one step of the caller's call if its state accepts it: once, committed, never a 500.

    `run` is None when the request's fields are unusable: then, as for a state the webhook
    does not accept, nothing changes and the answer repeats where the call stands.
    """
    call_sid = fields.call_sid(signed_form().get("CallSid"))
    session = get_session()
    try:
        if not call_sid:
            return _xml(_render(Goodbye("")))
        if webhook is Webhook.VOICE:
            return _voice(session, call_sid)
        conditions: list[ColumnElement[bool]] = [Call.state.in_(states.ACCEPTS[webhook])]
        turn_ok = True
        if webhook in states.TURN_CHECKED:
            turn = fields.counter(request.args.get("turn"))
            turn_ok = turn is not None
            conditions.append(Call.turn == (turn or 0))
        # The conditional UPDATE first: it is the check, the lock, and the turn; then the read.
        locked = run is not None and turn_ok and lock_call(session, call_sid, *conditions)
        call = find_call(session, call_sid)
        if call is None:
            session.rollback()
            return _xml(_render(Restart()))
        retried = _token() and call.last_webhook_token == _token() and call.ended_at is None
        if retried and call.last_reply is not None:
            # Twilio retried a webhook we already answered: same answer, no second effect.
            stored = call.last_reply
            session.rollback()
            return _xml(stored)
        if not locked or run is None:
            document = _render(states.safe_step(call, webhook), call.turn)
            session.rollback()
            return _xml(document)
        # Writes are flushed once at commit, not before each read the step makes.
        with session.no_autoflush:
            result = run(session, call, _now())
            if isinstance(result, Unchanged):
                document = _render(result.step, call.turn - 1)
                session.rollback()
                return _xml(document)
            step, progress = split(result)
            document = _render(step, call.turn)
        call.last_webhook_token = _token()
        call.last_reply = document
        session.commit()
        carry_out(progress, call.id)
        return _xml(document)
    except Exception:
        session.rollback()
        log.exception("voice webhook %s failed for CallSid %s", request.path, call_sid or "-")
        # The caller must never hear "an application error": reach a human or keep a message.
        return _fallback_twiml(call_sid)


@bp.post("/voice")
@twilio_signed
def voice() -> ResponseReturnValue:
    """A call comes in: open its ticket, greet, ask for the PIN."""
    return _caller_webhook(Webhook.VOICE, None)


def _keys() -> str | None:
    return fields.digits(signed_form().get("Digits"))


@bp.post("/pin")
@twilio_signed
def pin() -> ResponseReturnValue:
    """The caller typed a PIN (or nothing)."""
    keys, config = _keys(), _config()
    if keys is None:
        return _caller_webhook(Webhook.PIN, None)
    return _caller_webhook(
        Webhook.PIN, lambda s, call, now: flow.on_pin(s, call, keys, now, config)
    )


@bp.post("/product")
@twilio_signed
def product() -> ResponseReturnValue:
    """The caller chose a product from the menu (or nothing)."""
    keys = _keys()
    if keys is None:
        return _caller_webhook(Webhook.PRODUCT, None)
    return _caller_webhook(
        Webhook.PRODUCT, lambda s, call, now: flow.on_product(s, call, keys, now)
    )


@bp.post("/severity")
@twilio_signed
def severity() -> ResponseReturnValue:
    """The caller said whether service is completely down."""
    keys, config = _keys(), _config()
    if keys is None:
        return _caller_webhook(Webhook.SEVERITY, None)
    return _caller_webhook(
        Webhook.SEVERITY, lambda s, call, now: flow.on_severity(s, call, keys, now, config)
    )


@bp.post("/recorded")
@twilio_signed
def recorded() -> ResponseReturnValue:
    """The caller finished a message (or left none)."""
    form = signed_form()
    url = fields.recording_url(
        form.get("RecordingUrl"), settings_of(current_app).twilio_api_base_url
    )
    seconds = fields.seconds(form.get("RecordingDuration"))
    return _caller_webhook(
        Webhook.RECORDED, lambda s, call, now: flow.on_recorded(s, call, url, seconds, now)
    )


def _callback(run: CallerStep, *conditions: Any) -> ResponseReturnValue:
    """An asynchronous callback about a known call: record it once, answer 204, never fail."""
    session = get_session()
    call_sid = fields.call_sid(signed_form().get("CallSid"))
    try:
        # Callbacks take the call's lock but no turn: they must not outdate the caller's prompt.
        if not call_sid or not lock_call(session, call_sid, *conditions, take_turn=False):
            session.rollback()
            return Response(status=204)
        call = find_call(session, call_sid)
        if call is None:
            session.rollback()
            return Response(status=204)
        result = run(session, call, _now())
        _step, progress = split(result.step if isinstance(result, Unchanged) else result)
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
    form = signed_form()
    text = fields.free_text(form.get("TranscriptionText"))
    status = fields.transcription_status(form.get("TranscriptionStatus"))
    return _callback(lambda s, call, now: flow.on_transcription(s, call, text, status, now))


@bp.post("/recording-status")
@twilio_signed
def recording_status() -> ResponseReturnValue:
    """Twilio stored the recording: keep its URL on the timeline."""
    form = signed_form()
    url = fields.recording_url(
        form.get("RecordingUrl"), settings_of(current_app).twilio_api_base_url
    )
    status = fields.free_text(form.get("RecordingStatus"), 32)
    return _callback(lambda s, call, now: flow.on_recording_status(s, call, url, status, now))


@bp.post("/status")
@twilio_signed
def status() -> ResponseReturnValue:
    """The call's status callback: durations, and abandoned tickets."""
    form = signed_form()
    state = fields.call_status(form.get("CallStatus"))
    raw_duration = form.get("CallDuration")
    duration = fields.seconds(raw_duration) if raw_duration else None
    if not state.final:
        return Response(status=204)
    return _callback(
        lambda s, call, now: flow.on_status(s, call, state, duration, now),
        Call.ended_at.is_(None),
    )


@bp.post("/fallback")
@twilio_signed
def fallback() -> ResponseReturnValue:
    """Twilio's fallback URL: static TwiML, reaching a person only for an entitled call."""
    form = signed_form()
    call_sid = fields.call_sid(form.get("CallSid"))
    recorded_message = request.args.get("recorded") == "1"
    if recorded_message:
        log.error(
            "fallback voicemail from %s (CallSid %s): %s",
            fields.phone_number(form.get("From")) or "-",
            call_sid or "-",
            fields.recording_url(form.get("RecordingUrl")) or "-",
        )
    else:
        log.error(
            "fallback URL used for CallSid %s: ErrorCode %s",
            call_sid or "-",
            fields.counter(form.get("ErrorCode")) or "-",
        )
    settings = settings_of(current_app)
    emergency = settings.emergency_number
    connect = not recorded_message and bool(emergency) and _may_reach_a_person(call_sid)
    return _xml(twiml.fallback(emergency, recorded_message, _url, connect=connect))
