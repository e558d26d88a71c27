"""Phone numbers: parsed and validated with libphonenumber, stored in E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be dialled."""


def to_e164(raw: str, default_region: str = "US") -> str:
    """`raw` as an E.164 number (+15551234567), or InvalidPhoneNumber saying why."""
    return _to_e164((raw or "").strip(), default_region)


# Every webhook parses the same few numbers (the hotline's, the caller's), and libphonenumber
# costs about a quarter of a millisecond a parse: the answers are kept (errors are not).
@lru_cache(maxsize=4096)
def _to_e164(text: str, default_region: str) -> str:
    if not text:
        raise InvalidPhoneNumber("a phone number is required")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} has the wrong number of digits for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# What carriers put in the caller ID when the number is hidden: Twilio's "anonymous" and the
# words other carriers use, plus the digit spellings some networks send (ANONYMOUS, RESTRICTED,
# UNKNOWN, UNAVAILABLE typed on a keypad). One list, used by the PIN checks and by the SMS rules.
WITHHELD_CALLER_IDS = frozenset(
    {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked", "withheld"}
    | {"+266696687", "+7378742833", "+8656696", "+2562533", "266696687", "7378742833"}
)


def is_withheld(raw: str | None) -> bool:
    """True when the caller ID is one of the markers for a hidden number."""
    return (raw or "").strip().lower() in WITHHELD_CALLER_IDS


def caller_e164(raw: str | None, default_region: str = "US") -> str | None:
    """A caller ID as E.164, or None when it is withheld or not a possible phone number."""
    if is_withheld(raw):
        return None
    try:
        return to_e164(raw or "", default_region)
    except InvalidPhoneNumber:
        return None


def region_of(e164: str) -> str | None:
    """The ISO region (e.g. 'GB') an E.164 number belongs to, or None when it has none."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    # A number libphonenumber cannot place precisely (a fictional 555 number, say) belongs to
    # the main country of its calling code: +1 is the US, +44 is GB.
    region = phonenumbers.region_code_for_number(parsed)
    if region is None and parsed.country_code is not None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if region in (None, "ZZ", "001") else region
