"""Turning a flow step into TwiML; no request, database or Flask needed."""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr import prompts
from ivr.steps import (
    AskPin,
    AskProduct,
    AskSeverity,
    AskSeverityDetail,
    ConnectEngineer,
    Goodbye,
    HoldForEngineers,
    HoldMusic,
    LeaveQueue,
    Restart,
    Silence,
    Step,
    TakeMessage,
    Transfer,
    Whisper,
)

UrlFor = Callable[..., str]
GATHER_TIMEOUT_SECONDS = 6
MESSAGE_MAX_SECONDS = 120


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _gather(response: VoiceResponse, action: str, num_digits: int, text: str) -> Gather:
    # actionOnEmptyResult sends silence to the same handler, which owns the no-input path.
    gather = response.gather(
        input="dtmf",
        num_digits=num_digits,
        finish_on_key="#",
        timeout=GATHER_TIMEOUT_SECONDS,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    gather.say(text)
    return gather


def queue_name(call_id: int) -> str:
    """The hold queue of one caller (no phone numbers or names: queue names are visible)."""
    return f"hotline-call-{call_id}"


def render(step: Step, url: UrlFor, pin_length: int) -> str:
    """The TwiML document for `step`; `url(endpoint, **params)` makes absolute webhook URLs."""
    response = VoiceResponse()
    match step:
        case AskPin(preface=preface, greet=greet):
            greeting = prompts.GREETING if greet else ""
            _gather(
                response, url("ivr.pin"), pin_length, _join(greeting, preface, prompts.ENTER_PIN)
            )
        case AskProduct(products=products, preface=preface):
            menu = [
                prompts.ASK_PRODUCT_ITEM.format(product=name, key=index)
                for index, name in enumerate(products, start=1)
            ]
            _gather(response, url("ivr.product"), 1, _join(preface, *menu))
        case AskSeverity(preface=preface):
            _gather(response, url("ivr.severity"), 1, _join(preface, prompts.ASK_SEVERITY))
        case AskSeverityDetail(preface=preface):
            # The same webhook: the call's state says which question was asked.
            _gather(response, url("ivr.severity"), 1, _join(preface, prompts.ASK_SEVERITY_DETAIL))
        case TakeMessage(preface=preface):
            response.say(preface)
            response.record(
                action=url("ivr.recorded"),
                method="POST",
                max_length=MESSAGE_MAX_SECONDS,
                timeout=5,
                finish_on_key="1234567890*#",
                play_beep=True,
                transcribe=True,
                transcribe_callback=url("ivr.transcription"),
                recording_status_callback=url("ivr.recording_status"),
            )
            # Twilio skips the action when nothing was recorded; this still ends the call kindly.
            response.redirect(url("ivr.recorded"), method="POST")
        case HoldForEngineers(call_id=call_id):
            response.say(prompts.CONNECTING)
            response.enqueue(
                queue_name(call_id),
                wait_url=url("ivr.hold", call=call_id),
                wait_url_method="POST",
                action=url("ivr.queue_done", call=call_id),
                method="POST",
            )
        case HoldMusic(say=say, pause_seconds=seconds):
            if say:
                response.say(prompts.STILL_TRYING)
            response.pause(length=seconds)
        case LeaveQueue():
            response.leave()
        case ConnectEngineer(call_id=call_id):
            response.say(prompts.CONNECTING_ENGINEER)
            dial = response.dial()
            dial.queue(queue_name(call_id))
        case Transfer(preface=preface, number=number):
            response.say(preface)
            response.dial(number)
            response.hangup()
        case Goodbye(text=text):
            response.say(text)
            response.hangup()
        case Whisper(text=text, attempt_id=attempt_id):
            gather = response.gather(
                input="dtmf",
                num_digits=1,
                timeout=GATHER_TIMEOUT_SECONDS,
                action=url("ivr.engineer_answer", attempt=attempt_id),
                method="POST",
                action_on_empty_result=True,
            )
            gather.say(text)
            response.hangup()
        case Restart():
            response.redirect(url("ivr.voice"), method="POST")
        case Silence():
            pass
    return str(response)


def fallback(emergency_number: str | None, recorded: bool, url: UrlFor, *, connect: bool) -> str:
    """Static TwiML for when the service itself is failing: reach a human or keep a message.

    `connect` says the caller may reach EMERGENCY_NUMBER: only a call already found entitled
    (or one whose state could not be read); anyone else leaves a message.
    """
    response = VoiceResponse()
    if recorded:
        response.say(prompts.FALLBACK_THANKS)
        response.hangup()
    elif emergency_number and connect:
        response.say(prompts.FALLBACK_CONNECTING)
        response.dial(emergency_number)
        response.hangup()
    else:
        response.say(prompts.FALLBACK_MESSAGE)
        response.record(
            action=url("ivr.fallback", recorded=1),
            method="POST",
            max_length=MESSAGE_MAX_SECONDS,
            finish_on_key="1234567890*#",
            play_beep=True,
        )
        response.say(prompts.FALLBACK_THANKS)
        response.hangup()
    return str(response)
