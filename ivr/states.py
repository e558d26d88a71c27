"""Which call states each caller webhook accepts, and the safe answer when it is not one.

A request for a step the call has not reached, or has left, changes nothing: it is a replay,
a retry that lost a race, or a forgery signed with the account's auth token. It is answered
with harmless TwiML built from where the call really stands, never by ringing or alerting.
"""

from __future__ import annotations

from enum import Enum

from ivr import prompts
from ivr.engineer_flow import HOLD_PAUSE_SECONDS
from ivr.steps import (
    AskPin,
    AskProduct,
    AskSeverity,
    AskSeverityDetail,
    Goodbye,
    HoldForEngineers,
    HoldMusic,
    Step,
    TakeMessage,
)
from models import Call, CallState


class Webhook(str, Enum):
    """The caller's webhooks (the engineer legs and callbacks have their own checks)."""

    VOICE = "voice"
    PIN = "pin"
    PRODUCT = "product"
    SEVERITY = "severity"
    RECORDED = "recorded"
    HOLD = "hold"
    QUEUE_DONE = "queue-done"
    NO_ENGINEER = "no-engineer"


ACCEPTS: dict[Webhook, frozenset[CallState]] = {
    # /ivr/voice only ever opens a call; on a known call it answers like any stale request.
    Webhook.VOICE: frozenset(),
    Webhook.PIN: frozenset({CallState.PIN}),
    Webhook.PRODUCT: frozenset({CallState.PRODUCT}),
    Webhook.SEVERITY: frozenset({CallState.SEVERITY, CallState.SEVERITY_DETAIL}),
    Webhook.RECORDED: frozenset({CallState.MESSAGE}),
    Webhook.HOLD: frozenset({CallState.RINGING}),
    Webhook.QUEUE_DONE: frozenset({CallState.RINGING, CallState.CONNECTED}),
    Webhook.NO_ENGINEER: frozenset({CallState.RINGING}),
}

# Webhooks whose URL we render with the call's turn: only the request for the current turn
# counts, so a replay of an earlier (even identical) keypress does nothing.
TURN_CHECKED = frozenset({Webhook.PIN, Webhook.PRODUCT, Webhook.SEVERITY, Webhook.RECORDED})


def safe_step(call: Call, webhook: Webhook) -> Step:
    """What to answer a request the call's state does not accept: reads only, writes nothing."""
    if webhook is Webhook.HOLD and call.state is not CallState.ENDED:
        # A hold-loop turn racing with an engineer's accept must not disturb the caller.
        return HoldMusic(say=False, pause_seconds=HOLD_PAUSE_SECONDS)
    match call.state:
        case CallState.PIN:
            return AskPin(greet=webhook is Webhook.VOICE)
        case CallState.PRODUCT:
            account = call.ticket.account
            names = tuple(product.name for product in account.products) if account else ()
            return AskProduct(names)
        case CallState.SEVERITY:
            return AskSeverity()
        case CallState.SEVERITY_DETAIL:
            return AskSeverityDetail()
        case CallState.RINGING:
            return HoldForEngineers(call.id)
        case CallState.MESSAGE:
            return TakeMessage(prompts.LEAVE_MESSAGE)
        case _:
            return Goodbye(prompts.THANKS_GOODBYE)
