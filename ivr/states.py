"""Which call states each caller webhook accepts, and the safe answer when it is not one.

A request for a step the call has not reached, or has left, changes nothing: it is a replay,
a retry that lost a race, or a forgery signed with the account's auth token. It is answered
with harmless TwiML built from where the call really stands, never by ringing or alerting.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy.orm import Session

from ivr.engineer_flow import HOLD_PAUSE_SECONDS
from ivr.flow import greeting, prompts_of
from ivr.steps import (
    AskCode,
    AskPin,
    AskProduct,
    AskRegisteredNumber,
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
    HOLD_KEY = "hold-key"
    QUEUE_DONE = "queue-done"
    NO_ENGINEER = "no-engineer"


ACCEPTS: dict[Webhook, frozenset[CallState]] = {
    # /ivr/voice only ever opens a call; on a known call it answers like any stale request.
    Webhook.VOICE: frozenset(),
    # One webhook for every keypad answer before the account is known: the state says which.
    Webhook.PIN: frozenset({CallState.PIN, CallState.NO_PIN_NUMBER, CallState.NO_PIN_CODE}),
    Webhook.PRODUCT: frozenset({CallState.PRODUCT}),
    Webhook.SEVERITY: frozenset({CallState.SEVERITY, CallState.SEVERITY_DETAIL}),
    Webhook.RECORDED: frozenset({CallState.MESSAGE}),
    Webhook.HOLD: frozenset({CallState.RINGING}),
    Webhook.HOLD_KEY: frozenset({CallState.RINGING}),
    # MESSAGE: the caller pressed 1 on hold to leave a message instead.
    Webhook.QUEUE_DONE: frozenset({CallState.RINGING, CallState.CONNECTED, CallState.MESSAGE}),
    Webhook.NO_ENGINEER: frozenset({CallState.RINGING}),
}

# Webhooks whose URL we render with the call's turn: only the request for the current turn
# counts, so a replay of an earlier (even identical) keypress does nothing.
TURN_CHECKED = frozenset({Webhook.PIN, Webhook.PRODUCT, Webhook.SEVERITY, Webhook.RECORDED})


def safe_step(session: Session, call: Call, webhook: Webhook) -> Step:
    """What to answer a request the call's state does not accept: reads only, writes nothing."""
    p = prompts_of(call)
    if webhook in (Webhook.HOLD, Webhook.HOLD_KEY) and call.state is not CallState.ENDED:
        # A hold-loop turn racing with an engineer's accept must not disturb the caller.
        return HoldMusic("", HOLD_PAUSE_SECONDS)
    match call.state:
        case CallState.PIN:
            return greeting(session, call) if webhook is Webhook.VOICE else AskPin()
        case CallState.NO_PIN_NUMBER:
            return AskRegisteredNumber()
        case CallState.NO_PIN_CODE:
            return AskCode(p.ENTER_CODE)
        case CallState.PRODUCT:
            account = call.ticket.account
            names = tuple(product.name for product in account.products) if account else ()
            return AskProduct(names)
        case CallState.SEVERITY:
            return AskSeverity()
        case CallState.SEVERITY_DETAIL:
            return AskSeverityDetail()
        case CallState.RINGING:
            return HoldForEngineers(call.id, announce=False)
        case CallState.MESSAGE:
            return TakeMessage(p.LEAVE_MESSAGE)
        case _:
            return Goodbye(p.THANKS_GOODBYE)
