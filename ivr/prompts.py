"""Everything the caller and the engineer hear, short because every second counts in an outage.

The caller's words live in a `Prompts` catalogue per language (English here, others in
ivr.languages), chosen by the number called. What engineers and managers hear stays English:
it is the support team's working language.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompts:
    """One language's caller prompts; `language` is what `<Say language=...>` is given."""

    language: str = "en-US"
    # The name of this language in itself, for the override offered at the greeting.
    NAME: str = "English"
    SWITCH_TO: str = "For English, press 9."
    GREETING: str = "Sev-1 Hotline."
    ENTER_PIN: str = "Enter your PIN."
    NO_PIN_HINT: str = "No PIN? Press star star."
    PRIVILEGED_HINT: str = "For a PIN that starts with P, press star, then the digits."
    SEVEN_FOR_P: str = (
        "For a PIN that starts with P, press star instead of 7, then the other digits."
    )
    NO_INPUT_PIN: str = "I didn't hear a PIN."
    TRY_AGAIN: str = "Please try again."
    HOW_TO_GET_PIN: str = "Your support PIN is on the customer portal, {portal}."
    ASK_PRODUCT_ITEM: str = "For {product}, press {key}."
    NO_INPUT_MENU: str = "I didn't hear a choice."
    INVALID_CHOICE: str = "That isn't one of the choices."
    ASK_SEVERITY: str = "Complete outage? Press 1. Otherwise, press 2."
    SEVERITY_ASSUMED: str = "We will treat this as a complete outage."
    ASK_SEVERITY_DETAIL: str = (
        "If work is seriously degraded, press 2. For a question or minor problem, press 3."
    )
    DETAIL_ASSUMED: str = "We will treat this as seriously degraded."
    LEAVE_MESSAGE_WITH_TARGET: str = (
        "Support will respond within {target}. "
        "Please describe the problem after the tone, then press any key."
    )
    CONNECTING: str = "Connecting you to the on-call engineer."
    THROUGH: str = "You're through."
    LEAVE_MESSAGE: str = "Please describe the problem after the tone, then press any key."
    LEAVE_MESSAGE_AFTER_REFUSAL: str = "You can leave a message after the tone, then press any key."
    CALLBACK_PROMISE: str = "An engineer will call you back within {minutes} minutes."
    NOBODY_ANSWERED: str = "We could not reach an on-call engineer."
    HOLD_WAITED: str = "You have waited {waited}. We are ringing {engineers}."
    HOLD_TICKET: str = "Your ticket number is {ticket}."
    HOLD_OFFER_MESSAGE: str = "Press 1 to leave a message for a callback."
    STILL_TRYING: str = "We are still trying the on-call engineers."
    ONE_ENGINEER: str = "one engineer"
    ENGINEERS: str = "{count} engineers"
    SECONDS: str = "{count} seconds"
    ONE_MINUTE: str = "1 minute"
    MINUTES: str = "{count} minutes"
    TRANSFER_ACCOUNT_MANAGEMENT: str = "Connecting you to account management."
    NOT_ENTITLED: str = "We can't open a support call: {reason}."
    TICKET_AND_SMS: str = "Your ticket number is {ticket}. We will text it to you. Goodbye."
    TICKET_ONLY: str = "Your ticket number is {ticket}. Goodbye."
    THANK_YOU: str = "Thank you."
    NO_MESSAGE_HEARD: str = "We didn't hear a message."
    THANKS_GOODBYE: str = "Thank you for calling. Goodbye."
    # The way through without a PIN (star star at the PIN prompt).
    ASK_REGISTERED_NUMBER: str = (
        "Enter your company's registered phone number, with the country code, then press hash."
    )
    NUMBER_NOT_REGISTERED: str = "That number is not registered with us."
    CODE_SENT: str = (
        "We have texted a one-time code to the registered phone ending {last4}. "
        "Enter it when it arrives."
    )
    NO_INPUT_CODE: str = "I didn't hear a code."
    ENTER_CODE: str = "Enter the code we texted."
    WRONG_CODE: str = "That code was not recognised."
    NO_REGISTERED_CONTACT: str = (
        "We can't reach a registered contact of your company to check who you are."
    )
    LEAVE_DETAILS: str = (
        "Please leave your name, company and phone number after the tone, then press any key."
    )
    CODE_LIMIT: str = "We have already texted several codes for this company."
    # A PIN refused (the ticket keeps entitlement.verify's English sentence for staff).
    PIN_UNKNOWN: str = "That PIN was not recognised."
    PIN_EXPIRED: str = "That PIN has expired."
    PIN_USED: str = "That one-time PIN has already been used."
    PIN_TRIES_USED: str = "You have used all {tries} tries on this call."
    LOCKED_WITHHELD: str = (
        "There have been too many wrong PINs from callers who hide their number. "
        "Please call from a number that shows caller ID, or try again in {wait}."
    )
    LOCKED_ACCOUNT: str = (
        "There have been too many wrong PINs from your company's registered phone numbers. "
        "Please try again in {wait}."
    )
    LOCKED_NUMBER: str = (
        "There have been too many wrong PINs from this number. Please try again in {wait}."
    )
    # Degraded mode (database down): the number's language comes from the routing
    # configuration held in memory, so these are said without a query.
    # On the severity-1 path of degraded mode: at most 8 s, like every prompt on that path.
    DEGRADED_ASK_SEVERITY: str = (
        "Technical trouble: we cannot check your support PIN. "
        "Service down? Press 1 for an engineer, 2 for a message."
    )
    DEGRADED_CONNECTING: str = (
        "We are having technical trouble, so your call has no ticket number yet. "
        "Connecting you to the on-call engineer."
    )
    DEGRADED_NOBODY: str = (
        "We are having technical trouble and could not reach an on-call engineer. "
        "Please leave your name, company and the problem after the tone, and we will call you "
        "back."
    )
    FALLBACK_CONNECTING: str = (
        "We are having technical trouble. Connecting you to the on-call engineer."
    )
    FALLBACK_MESSAGE: str = (
        "We are having technical trouble. Please leave your name, company and the problem "
        "after the tone, and we will call you back."
    )
    FALLBACK_THANKS: str = "Thank you. Your message has been recorded. Goodbye."


ENGLISH = Prompts()

# What engineers hear (English: the support team's working language).
WHISPER = "Severity 1, {company}. Press 1 to take it."
WHISPER_PASSED = "Thank you. We will try the next engineer. Goodbye."
WHISPER_NO_KEY = "No key was pressed. Goodbye."
CALLER_GONE = "The caller has hung up. Their ticket has a callback task. Goodbye."
WHISPER_TAKEN = "Another engineer has taken this call. Goodbye."
THANKS_GOODBYE = ENGLISH.THANKS_GOODBYE
LEAVE_MESSAGE = ENGLISH.LEAVE_MESSAGE
STILL_TRYING = ENGLISH.STILL_TRYING
GREETING = ENGLISH.GREETING
ENTER_PIN = ENGLISH.ENTER_PIN
FALLBACK_CONNECTING = ENGLISH.FALLBACK_CONNECTING
FALLBACK_MESSAGE = ENGLISH.FALLBACK_MESSAGE
FALLBACK_THANKS = ENGLISH.FALLBACK_THANKS


def spoken_ticket(ticket_id: int) -> str:
    """A ticket number as text-to-speech should read it: 'H L 1 2 3', not 'one hundred...'."""
    return "H L " + " ".join(str(ticket_id))


def spoken_digits(digits: str) -> str:
    """Digits read one by one ('0 1 0 0'), as a caller would copy them."""
    return " ".join(digits)


DEGRADED_ASK_SEVERITY = ENGLISH.DEGRADED_ASK_SEVERITY
DEGRADED_CONNECTING = ENGLISH.DEGRADED_CONNECTING
DEGRADED_NOBODY = ENGLISH.DEGRADED_NOBODY
# On the engineer's side of the degraded severity-1 path: at most 8 s like the whisper.
DEGRADED_WHISPER = (
    "Severity 1 call. Our database is down, so the caller's PIN was not checked. "
    "Press 1 to take it."
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
