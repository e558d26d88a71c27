"""What the hotline says and does while its database cannot be reached (degraded mode).

Everything here works without the database: the TwiML is static, the engineers to ring come
from the last routing plan this server loaded (routing.last_known), the caller hears the
language of the number they called as the routing configuration in memory says (English if
this process never loaded one; a language chosen at the greeting is not known), and managers
are alerted by SMS straight through Twilio's REST API. Nobody's PIN can be checked in this
mode: a caller who says service is completely down is put through to an engineer who is told so.
"""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from ivr import prompts
from ivr.prompts import ENGLISH, Prompts
from ivr.twiml import GATHER_TIMEOUT_SECONDS, MESSAGE_MAX_SECONDS

UrlFor = Callable[..., str]
DEGRADED_RING_SECONDS = 20
ENGINEER_RETRY_PAUSE_SECONDS = 5
# About a minute of "stay on the line" before the engineer is asked to call the hotline.
ENGINEER_RETRIES = 12


def ask_severity(url: UrlFor, p: Prompts = ENGLISH) -> str:
    """An unknown caller: say honestly what is wrong, and ask whether service is down."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=url("ivr.degraded_choice"),
        method="POST",
        action_on_empty_result=True,
    )
    gather.say(p.DEGRADED_ASK_SEVERITY, language=p.language)
    response.redirect(url("ivr.degraded_choice"), method="POST")
    return str(response)


def put_through(
    phones: tuple[str, ...],
    index: int,
    emergency: str | None,
    url: UrlFor,
    say: str,
    p: Prompts = ENGLISH,
) -> str:
    """Ring the `index`-th last-known engineer (screened), then the emergency number, or record."""
    response = VoiceResponse()
    if say:
        response.say(say, language=p.language)
    if index < len(phones):
        dial = response.dial(
            action=url("ivr.degraded_dialled", next=index + 1),
            method="POST",
            timeout=DEGRADED_RING_SECONDS,
        )
        # Screened like every engineer call, so a voicemail box can't take the caller.
        dial.number(phones[index], url=url("ivr.degraded_whisper"), method="POST")
        return str(response)
    if emergency:
        response.dial(emergency)
        response.hangup()
        return str(response)
    return take_message(url, p.DEGRADED_NOBODY, p)


def take_message(url: UrlFor, say: str = "", p: Prompts = ENGLISH) -> str:
    """Record a message the journal will turn into a ticket when the database is back."""
    response = VoiceResponse()
    response.say(say or p.FALLBACK_MESSAGE, language=p.language)
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


def whisper(url: UrlFor) -> str:
    """The engineer's screening prompt when the caller could not be checked."""
    response = VoiceResponse()
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=url("ivr.degraded_accept"),
        method="POST",
        action_on_empty_result=True,
    )
    gather.say(prompts.DEGRADED_WHISPER)
    response.hangup()
    return str(response)


def accepted(keys: str) -> str:
    """An empty document bridges the engineer; anything but 1 ends their leg."""
    response = VoiceResponse()
    if keys[:1] != "1":
        response.say(prompts.WHISPER_PASSED)
        response.hangup()
    return str(response)


def engineer_stay(url: UrlFor, attempt_id: int | None, retry: int, hotline: str) -> str:
    """An engineer's leg whose webhook failed: keep them on the line, try again, never drop."""
    response = VoiceResponse()
    if attempt_id is None or retry >= ENGINEER_RETRIES:
        response.say(prompts.ENGINEER_CALL_HOTLINE.format(number=" ".join(hotline)))
        response.hangup()
        return str(response)
    response.say(prompts.ENGINEER_STAY)
    response.pause(length=ENGINEER_RETRY_PAUSE_SECONDS)
    response.redirect(url("ivr.engineer", attempt=attempt_id, retry=retry + 1), method="POST")
    return str(response)


def keep_holding(pause_seconds: int) -> str:
    """A hold-loop turn that could not be run: a pause, never a failure message."""
    response = VoiceResponse()
    response.pause(length=pause_seconds)
    return str(response)


def leave_queue() -> str:
    """A hold loop that has waited too long for the database: out, to the queue's action."""
    response = VoiceResponse()
    response.leave()
    return str(response)


def goodbye(p: Prompts = ENGLISH) -> str:
    """The engineer and caller have talked: thank the caller and hang up."""
    response = VoiceResponse()
    response.say(p.THANKS_GOODBYE, language=p.language)
    response.hangup()
    return str(response)
