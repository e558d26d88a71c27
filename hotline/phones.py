"""Phone numbers: parsed and validated with libphonenumber, stored in E.164."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be dialled."""


def to_e164(raw: str, default_region: str = "US") -> str:
    """`raw` as an E.164 number (+15551234567), or InvalidPhoneNumber saying why."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("a phone number is required")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{text!r} has the wrong number of digits for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
