"""Webhooks of degraded mode: the caller's choice, the engineers rung one by one, screening.

None of them touches the database; each is signed like every webhook. A dial's outcome is
journaled so the call's ticket shows it once the database is back.
"""

from __future__ import annotations

import logging

from flask import Response, request
from flask.typing import ResponseReturnValue

from ivr import degraded
from ivr.views import (
    _now,
    _url,
    _xml,
    bp,
    degraded_alert,
    degraded_prompts,
    keep_in_journal,
    put_through,
    replaying,
)
from kernel import twilio_fields as fields
from kernel.db import get_session
from kernel.signatures import signed_form, twilio_signed
from models import CallOutcome
from tickets import events
from tickets.calls import events_of, open_call, record_event
from tickets.outcome import set_call_outcome

log = logging.getLogger(__name__)


@bp.post("/degraded/choice")
@twilio_signed
def degraded_choice() -> ResponseReturnValue:
    """1: put through to an engineer without a PIN check; anything else: take a message."""
    keys = fields.digits(signed_form().get("Digits")) or ""
    if keys[:1] == "1":
        log.warning(
            "degraded mode: unchecked severity-1 caller put through (CallSid %s)",
            fields.call_sid(signed_form().get("CallSid")) or "-",
        )
        return put_through()
    return _xml(degraded.take_message(_url, p=degraded_prompts()))


@bp.post("/degraded/dialled")
@twilio_signed
def degraded_dialled() -> ResponseReturnValue:
    """One engineer's ring ended: done if they talked, else the next one."""
    form = signed_form()
    index = fields.counter(request.args.get("next")) or 0
    if replaying():
        return _record_dial(index)
    keep_in_journal()  # the ticket's timeline gets the outcome when the database is back
    if (
        fields.call_status(form.get("DialCallStatus")) is fields.CallStatus.COMPLETED
        and form.get("DialBridged", "true") == "true"
    ):
        return _xml(degraded.goodbye(degraded_prompts()))
    degraded_alert()
    return put_through(index, "")


@bp.post("/degraded/whisper")
@twilio_signed
def degraded_whisper() -> ResponseReturnValue:
    """The engineer picked up: say the PIN was not checked, press 1 to accept."""
    return _xml(degraded.whisper(_url))


@bp.post("/degraded/accept")
@twilio_signed
def degraded_accept() -> ResponseReturnValue:
    """The engineer's key at the degraded whisper."""
    return _xml(degraded.accepted(fields.digits(signed_form().get("Digits")) or ""))


def _record_dial(index: int) -> Response:
    """Replayed from the journal: put the degraded-mode ring on the call's ticket, once."""
    form = signed_form()
    call_sid = fields.call_sid(form.get("CallSid"))
    status = fields.free_text(form.get("DialCallStatus"), 32)
    leg = fields.call_sid(form.get("DialCallSid")) or ""
    session = get_session()
    try:
        now = _now()
        caller, called = fields.phone_number(form.get("From")), fields.phone_number(form.get("To"))
        call = open_call(session, call_sid, caller, called, now)
        dialled = events_of(session, call, events.DegradedDial)
        if not any(d.attempt == index and d.leg == leg for d in dialled):
            payload = events.DegradedDial(attempt=index, status=status, leg=leg)
            record_event(session, call, payload, now)
            if status == fields.CallStatus.COMPLETED.value:
                set_call_outcome(call, CallOutcome.CONNECTED, now)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("replayed degraded dial for CallSid %s not stored", call_sid or "-")
        return Response(status=503)
    return Response(status=204)
