"""Webhooks of a callback the dashboard placed: the engineer's leg, then the bridged customer."""

from __future__ import annotations

import logging

from flask import current_app, request
from flask.typing import ResponseReturnValue
from twilio.twiml.voice_response import VoiceResponse

from ivr import prompts
from ivr.views import _now, _url, _xml, bp
from kernel import twilio_fields as fields
from kernel.config import settings_of
from kernel.db import get_session
from kernel.signatures import signed_form, twilio_signed
from tickets import tasks

log = logging.getLogger(__name__)
CONNECTED = "completed"  # the DialCallStatus of a customer leg that answered and talked


def _goodbye(text: str) -> ResponseReturnValue:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return _xml(str(response))


@bp.post("/callback")
@twilio_signed
def callback() -> ResponseReturnValue:
    """The engineer answered the callback we placed: say whom, then dial the customer."""
    session = get_session()
    task_id = fields.positive_id(request.args.get("task"))
    call_sid = fields.call_sid(signed_form().get("CallSid"))
    task = tasks.callback_leg(session, task_id, call_sid)
    if task is None or task.callback_number is None:
        return _goodbye(prompts.THANKS_GOODBYE)
    task.callback_call_sid = call_sid
    session.commit()
    company = task.ticket.account.name if task.ticket.account else "the caller"
    response = VoiceResponse()
    response.say(
        f"Calling back {company} about ticket {prompts.spoken_ticket(task.ticket_id)}. "
        "Stay on the line."
    )
    settings = settings_of(current_app)
    dial = response.dial(
        action=_url("ivr.callback_done", task=task.id),
        method="POST",
        caller_id=settings.hotline_number,
        timeout=30,
    )
    dial.number(task.callback_number)
    return _xml(str(response))


@bp.post("/callback-done")
@twilio_signed
def callback_done() -> ResponseReturnValue:
    """The customer leg ended: a conversation closes the task; anything else leaves it open."""
    session = get_session()
    form = signed_form()
    task = tasks.callback_leg(
        session, fields.positive_id(request.args.get("task")), fields.call_sid(form.get("CallSid"))
    )
    status = (form.get("DialCallStatus") or "")[:32]
    if task is None:
        return _goodbye(prompts.THANKS_GOODBYE)
    if status == CONNECTED:
        by = task.acknowledged_by or "an engineer"
        tasks.finish_task(session, task, by, f"called back ({task.callback_call_sid})", _now())
        session.commit()
        return _goodbye(prompts.THANKS_GOODBYE)
    session.commit()
    log.info("callback for task %s: the customer leg ended %s", task.id, status or "without status")
    return _goodbye("The customer did not answer. The task stays open.")
