"""Everything the caller and the engineer hear, short because every second counts in an outage."""

from __future__ import annotations

GREETING = "Sev-1 Hotline."
ENTER_PIN = "Enter your support PIN."
NO_INPUT_PIN = "I didn't hear a PIN. Enter your support PIN now."
TRY_AGAIN = "Please try again."
HOW_TO_GET_PIN = "You can find your support PIN on {portal}."
ASK_PRODUCT_ITEM = "For {product}, press {key}."
NO_INPUT_MENU = "I didn't hear a choice."
INVALID_CHOICE = "That isn't one of the choices."
ASK_SEVERITY = "If service is completely down, press 1. Otherwise, press 2."
ASK_SEVERITY_DETAIL = (
    "If work is seriously degraded, press 2. For a question or minor problem, press 3."
)
LEAVE_MESSAGE_WITH_TARGET = (
    "Support will respond within {target}. "
    "Please describe the problem after the tone, then press any key."
)
CONNECTING = "Connecting you to the on-call engineer."
LEAVE_MESSAGE = "Please describe the problem after the tone, then press any key."
LEAVE_MESSAGE_AFTER_REFUSAL = "You can leave a message after the tone, then press any key."
NOBODY_ANSWERED = (
    "We could not reach an on-call engineer. An engineer will call you back within 30 minutes. "
    + LEAVE_MESSAGE
)
STILL_TRYING = "We are still trying to reach the on-call engineer. Please stay on the line."
CONNECTING_ENGINEER = "Connecting you to the caller."
WHISPER_PASSED = "Thank you. We will try the next engineer. Goodbye."
WHISPER_NO_KEY = "No key was pressed. Goodbye."
CALLER_GONE = "The caller has hung up. Their ticket has a callback task. Goodbye."
TRANSFER_ACCOUNT_MANAGEMENT = "Connecting you to account management."
TICKET_AND_SMS = "Your ticket number is {ticket}. We will text it to you. Goodbye."
NO_MESSAGE_HEARD = "We didn't hear a message."
LOCKED_OUT = "{message} Your ticket number is {ticket}. Goodbye."
THANKS_GOODBYE = "Thank you for calling. Goodbye."
TECHNICAL_TROUBLE = "We are having technical trouble."
FALLBACK_CONNECTING = "We are having technical trouble. Connecting you to the on-call engineer."
FALLBACK_MESSAGE = (
    "We are having technical trouble. Please leave your name, company and the problem "
    "after the tone, and we will call you back."
)
FALLBACK_THANKS = "Thank you. Your message has been recorded. Goodbye."

WHISPER = "Severity 1 call from {company}, ticket {ticket}. Press 1 to accept, 2 to pass."
WHISPER_TAKEN = "Another engineer has taken this call. Goodbye."


def spoken_ticket(ticket_id: int) -> str:
    """A ticket number as text-to-speech should read it: 'H L 1 2 3', not 'one hundred...'."""
    return "H L " + " ".join(str(ticket_id))


DEGRADED_ASK_SEVERITY = (
    "We are having technical trouble and cannot check your support PIN right now. "
    "If service is completely down, press 1 to be put through to the on-call engineer. "
    "Otherwise, press 2 to leave a message."
)
DEGRADED_CONNECTING = (
    "We are having technical trouble, so your call has no ticket number yet. "
    "Connecting you to the on-call engineer."
)
DEGRADED_NOBODY = (
    "We are having technical trouble and could not reach an on-call engineer. "
    "Please leave your name, company and the problem after the tone, and we will call you back."
)
DEGRADED_WHISPER = (
    "Severity 1 call. The hotline's database is down, so the caller's PIN was not checked. "
    "Press 1 to accept, 2 to pass."
)
ENGINEER_STAY = "We are having technical trouble. Please stay on the line."
ENGINEER_CALL_HOTLINE = (
    "We are still having technical trouble. Please call the hotline at {number} to take "
    "the call. Goodbye."
)
DEGRADED_MANAGER_ALERT = (
    "Sev-1 Hotline: the database is unreachable. Callers are in degraded mode (no PIN checks, "
    "last-known on-call engineers). Calls are journaled and will be ticketed when it is back."
)
