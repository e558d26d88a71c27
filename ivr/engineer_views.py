"""Webhooks of a severity-1 call's ringing: the caller's hold loop and each engineer's leg."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.signatures import twilio_signed
from ivr import engineer_flow, flow, prompts
from ivr.steps import Goodbye, Step, Then
from ivr.views import _caller_webhook, _now, _render, _xml, bp, carry_out, split
from models.ringing import RingAttempt
from routing.ringing import Progress

log = logging.getLogger(__name__)


def _attempt(session: Session) -> RingAttempt | None:
    attempt_id = request.args.get("attempt", "")
    return session.get(RingAttempt, int(attempt_id)) if attempt_id.isdigit() else None


def _queue_seconds() -> int:
    raw = request.form.get("QueueTime", "0")
    return int(raw) if raw.isdigit() else 0


@bp.post("/hold")
@twilio_signed
def hold() -> ResponseReturnValue:
    """The caller's hold loop (Enqueue waitUrl): escalate when due, say where things stand."""
    waited = _queue_seconds()
    return _caller_webhook(lambda s, call, now: engineer_flow.hold(s, call, waited, now))


@bp.post("/queue-done")
@twilio_signed
def queue_done() -> ResponseReturnValue:
    """The caller left the hold queue (Enqueue action)."""
    result = request.form.get("QueueResult", "")
    return _caller_webhook(lambda s, call, now: engineer_flow.queue_done(s, call, result, now))


@bp.post("/no-engineer")
@twilio_signed
def no_engineer() -> ResponseReturnValue:
    """Every engineer was tried: the caller is redirected here to leave a message."""
    return _caller_webhook(lambda s, call, now: flow.nobody_answered(s, call, now))


def _engineer_leg(run: Callable[[Session, RingAttempt | None], Step | Then]) -> Response:
    """Run one step of an engineer's leg; any failure ends the leg politely, never a 500."""
    session = get_session()
    attempt: RingAttempt | None = None
    try:
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
        log.exception("engineer webhook %s failed for CallSid %s",
                      request.path, request.form.get("CallSid", "-"))  # fmt: skip
        return _xml(_render(Goodbye(prompts.TECHNICAL_TROUBLE)))


@bp.post("/engineer")
@twilio_signed
def engineer() -> ResponseReturnValue:
    """An engineer answered our call: the whisper."""
    return _engineer_leg(lambda s, attempt: engineer_flow.engineer_answered(s, attempt, _now()))


@bp.post("/engineer-answer")
@twilio_signed
def engineer_answer() -> ResponseReturnValue:
    """The engineer pressed a key (or nothing) at the whisper."""
    keys = request.form.get("Digits", "")
    return _engineer_leg(
        lambda s, attempt: engineer_flow.engineer_pressed(s, attempt, keys, _now())
    )


@bp.post("/engineer-status")
@twilio_signed
def engineer_status() -> ResponseReturnValue:
    """Status callbacks of an engineer leg: ringing, answered, and how it ended."""
    status = request.form.get("CallStatus", "")

    def run(session: Session, attempt: RingAttempt | None) -> Then:
        progress: Progress = engineer_flow.engineer_leg_status(session, attempt, status, _now())
        return Then(Goodbye(""), progress)

    _engineer_leg(run)
    return Response(status=204)
