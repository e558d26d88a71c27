"""Turning a flow step into TwiML; no request, database or Flask needed."""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.prompts import ENGLISH, Prompts
from ivr.steps import (
    AskCode,
    AskPin,
    AskProduct,
    AskRegisteredNumber,
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
# Time to read a text message and key its code in.
CODE_TIMEOUT_SECONDS = 20
# Long enough for a number with its country code (E.164 allows 15 digits).
PHONE_NUMBER_DIGITS = 15
CODE_DIGITS = 10
MESSAGE_MAX_SECONDS = 120


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _gather(
    response: VoiceResponse,
    action: str,
    num_digits: int,
    text: str,
    language: str,
    timeout: int = GATHER_TIMEOUT_SECONDS,
) -> Gather:
    # actionOnEmptyResult sends silence to the same handler, which owns the no-input path.
    # The prompt is nested in the Gather, so the caller's first key stops it.
    gather = response.gather(
        input="dtmf",
        num_digits=num_digits,
        finish_on_key="#",
        timeout=timeout,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    gather.say(text, language=language)
    return gather


def pin_prompt(step: AskPin, p: Prompts) -> str:
    """What the PIN prompt says: each sentence once, the hints only where the step asks."""
    if step.greet:
        return _join(p.GREETING, step.preface, p.ENTER_PIN, p.NO_PIN_HINT, step.switch_to)
    hints = (p.PRIVILEGED_HINT, p.NO_PIN_HINT) if step.hints else ()
    return _join(step.preface, p.ENTER_PIN, *hints)


def queue_name(call_id: int) -> str:
    """The hold queue of one caller (no phone numbers or names: queue names are visible)."""
    return f"hotline-call-{call_id}"


def render(step: Step, url: UrlFor, pin_length: int, p: Prompts = ENGLISH) -> str:
    """The TwiML document for `step`; `url(endpoint, **params)` makes absolute webhook URLs;
    the caller's words come from `p`, spoken in its language."""
    response = VoiceResponse()
    lang = p.language
    match step:
        case AskPin():
            _gather(response, url("ivr.pin"), pin_length, pin_prompt(step, p), lang)
        case AskRegisteredNumber(preface=preface):
            # The same webhook as the PIN: the call's state says what was asked.
            text = _join(preface, p.ASK_REGISTERED_NUMBER)
            _gather(response, url("ivr.pin"), PHONE_NUMBER_DIGITS, text, lang)
        case AskCode(preface=preface):
            _gather(response, url("ivr.pin"), pin_length, preface, lang, CODE_TIMEOUT_SECONDS)
        case AskProduct(products=products, preface=preface):
            menu = [
                p.ASK_PRODUCT_ITEM.format(product=name, key=index)
                for index, name in enumerate(products, start=1)
            ]
            _gather(response, url("ivr.product"), 1, _join(preface, *menu), lang)
        case AskSeverity(preface=preface):
            _gather(response, url("ivr.severity"), 1, _join(preface, p.ASK_SEVERITY), lang)
        case AskSeverityDetail(preface=preface):
            # The same webhook: the call's state says which question was asked.
            text = _join(preface, p.ASK_SEVERITY_DETAIL)
            _gather(response, url("ivr.severity"), 1, text, lang)
        case TakeMessage(preface=preface):
            response.say(preface, language=lang)
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
        case HoldForEngineers(call_id=call_id, preface=preface, announce=announce):
            if announce:
                response.say(_join(preface, p.CONNECTING), language=lang)
            response.enqueue(
                queue_name(call_id),
                wait_url=url("ivr.hold", call=call_id),
                wait_url_method="POST",
                action=url("ivr.queue_done", call=call_id),
                method="POST",
            )
        case HoldMusic(say=say, pause_seconds=seconds, call_id=call_id, offer_message=offer):
            if offer and call_id is not None:
                # A key pressed while held goes to the hold-key webhook; silence just waits.
                gather = response.gather(
                    input="dtmf",
                    num_digits=1,
                    timeout=seconds,
                    action=url("ivr.hold_key", call=call_id),
                    method="POST",
                )
                if say:
                    gather.say(say, language=lang)
            else:
                if say:
                    response.say(say, language=lang)
                response.pause(length=seconds)
        case LeaveQueue():
            response.leave()
        case ConnectEngineer(call_id=call_id, language=language):
            # No sentence for the engineer: the caller is theirs the moment they press 1.
            dial = response.dial()
            dial.queue(
                queue_name(call_id), url=url("ivr.through", lang=language or ""), method="POST"
            )
        case Transfer(preface=preface, number=number):
            response.say(preface, language=lang)
            response.dial(number)
            response.hangup()
        case Goodbye(text=text):
            response.say(text, language=lang)
            response.hangup()
        case Whisper(text=text, attempt_id=attempt_id):
            # Nested in the Gather, so an engineer who presses 1 at once stops the whisper.
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


def fallback(
    emergency_number: str | None,
    recorded: bool,
    url: UrlFor,
    *,
    connect: bool,
    p: Prompts = ENGLISH,
) -> str:
    """Static TwiML for when the service itself is failing: reach a human or keep a message.

    `connect` says the caller may reach EMERGENCY_NUMBER: only a call already found entitled
    (or one whose state could not be read); anyone else leaves a message.
    """
    response = VoiceResponse()
    if recorded:
        response.say(p.FALLBACK_THANKS, language=p.language)
        response.hangup()
    elif emergency_number and connect:
        response.say(p.FALLBACK_CONNECTING, language=p.language)
        response.dial(emergency_number)
        response.hangup()
    else:
        response.say(p.FALLBACK_MESSAGE, language=p.language)
        response.record(
            action=url("ivr.fallback", recorded=1),
            method="POST",
            max_length=MESSAGE_MAX_SECONDS,
            finish_on_key="1234567890*#",
            play_beep=True,
        )
        response.say(p.FALLBACK_THANKS, language=p.language)
        response.hangup()
    return str(response)
