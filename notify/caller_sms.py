"""Whether a caller is owed an SMS: a PIN accepted or a registered number, an allowed country,
and room under the per-number and global hourly caps (so the hotline cannot be used to pump SMS).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel import counters
from kernel.config import Settings
from kernel.phones import caller_e164, region_of
from models import Call, Contact

HOUR = timedelta(hours=1)
GLOBAL_KEY = "sms:callers"


class Withheld(str, Enum):
    """Why a caller's SMS was not sent; recorded on the ticket as an sms_withheld event."""

    WITHHELD_NUMBER = "withheld_number"
    PIN_NOT_ACCEPTED = "pin_not_accepted"
    COUNTRY_NOT_ALLOWED = "country_not_allowed"
    PER_NUMBER_CAP = "per_number_cap"
    GLOBAL_CAP = "global_cap"


def pin_accepted(call: Call) -> bool:
    """True when a PIN was accepted on this call."""
    return call.pin_accepted_at is not None


def recipient(session: Session, call: Call, settings: Settings) -> str | Withheld:
    """The E.164 number to text about `call`, or why none is owed (counts nothing)."""
    number = caller_e164(call.from_number, settings.home_region)
    if number is None:
        return Withheld.WITHHELD_NUMBER
    if not pin_accepted(call) and not _registered(session, number):
        return Withheld.PIN_NOT_ACCEPTED
    if region_of(number) not in settings.sms_countries:
        return Withheld.COUNTRY_NOT_ALLOWED
    return number


def take_cap(session: Session, number: str, now: datetime, settings: Settings) -> Withheld | None:
    """Count one SMS to `number` under both hourly caps; the cap it would break, if any."""
    per_number = f"sms:number:{number}"
    # Both caps in one statement; the slot a refused text did not use is given back.
    counts = counters.add_many(session, {(per_number, HOUR): 1, (GLOBAL_KEY, HOUR): 1}, now)
    if counts[per_number] > settings.sms_per_number_hourly:
        counters.add(session, GLOBAL_KEY, now, HOUR, amount=-1)
        return Withheld.PER_NUMBER_CAP
    if counts[GLOBAL_KEY] > settings.sms_global_hourly:
        counters.add(session, per_number, now, HOUR, amount=-1)
        return Withheld.GLOBAL_CAP
    return None


def _registered(session: Session, number: str) -> bool:
    """True when `number` is a contact number registered on some account."""
    return session.scalar(select(Contact.id).where(Contact.phone == number).limit(1)) is not None
