"""The way through without a PIN: a one-time code texted to a contact the account registered.

Rules, stated once:
- The caller is matched to an account by the number they call from, or by a number they key
  in, against the contacts registered on accounts (stored in E.164). Nothing else identifies them.
- The code goes only to the phone of a registered contact of that account (the matched one
  first), never to a number the caller chooses, so it proves the caller can reach that phone.
- The code is a one-time support PIN that lives `CODE_LIFETIME`; it is checked by
  entitlement.verify like any PIN, so it has the same per-call, per-number and per-account
  limits; a keyed-in number that matches no contact counts as a wrong PIN in those limits.
- An account is texted at most `CODES_PER_ACCOUNT_HOURLY` codes an hour, so the hotline cannot be
  used to flood a customer's phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement import limits
from entitlement.alerts import alert_managers
from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from kernel import counters
from kernel.phones import caller_e164
from models import Account, Contact, PinKind
from notify.humantime import human_datetime, zone
from notify.render import render

CODE_LIFETIME = timedelta(minutes=10)
CODES_PER_ACCOUNT_HOURLY = 3
TEXTED_CODE_USED = "texted_code_used"
ONE_TIME_CODE = "one_time_code"
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class CodeToSend:
    """A code just issued: the SMS to send after the commit (the digits exist only here)."""

    account: Account
    phone: str
    pin_id: int
    text: str = field(repr=False)

    @property
    def last4(self) -> str:
        """The last four digits of the phone the code went to (all the caller is told)."""
        return self.phone[-4:]


def contacts_registering(session: Session, phone: str | None) -> list[Contact]:
    """The registered contacts with this E.164 phone, oldest first."""
    if not phone:
        return []
    return list(session.scalars(select(Contact).where(Contact.phone == phone).order_by(Contact.id)))


def typed_number(keys: str, home_region: str) -> str | None:
    """A phone number keyed on the keypad (country code first, or national) in E.164."""
    digits = keys.strip().removesuffix("#").lstrip("*")
    if not digits.isdigit():
        return None
    return caller_e164("+" + digits, home_region) or caller_e164(digits, home_region)


def check_typed_number(
    session: Session,
    keys: str,
    caller_number: str | None,
    call_sid: str,
    now: datetime,
    policy: PinPolicy,
) -> tuple[list[Contact], limits.Refusal | None]:
    """The contacts a keyed-in number matches; an unmatched number counts as a wrong PIN."""
    caller = caller_e164(caller_number, policy.home_region)
    reservation = limits.reserve(session, caller, [], call_sid, now, policy)
    if reservation.refusal is not None:
        return [], reservation.refusal
    contacts = contacts_registering(session, typed_number(keys, policy.home_region))
    limits.settle(session, reservation, not contacts, now, policy)
    return contacts, None


def issue_code(
    session: Session,
    contact: Contact,
    now: datetime,
    policy: PinPolicy,
    language: str | None = None,
) -> CodeToSend | None:
    """A one-time code for the contact's account, to text to the contact in the call's
    language; None over the cap."""
    account = contact.account
    phone = caller_e164(contact.phone, policy.home_region)
    if phone is None:
        return None
    if counters.add(session, f"pinless:account:{account.id}", now, HOUR) > (
        CODES_PER_ACCOUNT_HOURLY
    ):
        counters.add(session, f"pinless:account:{account.id}", now, HOUR, amount=-1)
        return None
    issued = issue_pin(session, account, PinKind.ONE_TIME, now, policy, CODE_LIFETIME)
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    # Rendered here, never queued: the digits must not sit in the outbox.
    context = {"code": issued.display, "minutes": minutes, "language": language}
    text = render(ONE_TIME_CODE, "sms", context).body
    return CodeToSend(account=account, phone=phone, pin_id=issued.pin.id, text=text)


def alert_code_used(
    session: Session,
    account: Account,
    caller_number: str | None,
    call_sid: str,
    ticket_number: str,
    now: datetime,
) -> None:
    """Tell managers a caller got through with a texted code instead of the PIN."""
    payload = {
        "account": account.name,
        "account_id": account.id,
        "caller_number": caller_number,
        "call_sid": call_sid,
        "ticket": ticket_number,
        "used_at": now.isoformat(),
        # Read by people: the account's own wall clock, never an ISO string.
        "used_at_text": human_datetime(now, zone(account.timezone)),
    }
    alert_managers(session, TEXTED_CODE_USED, payload, now, f"{TEXTED_CODE_USED}:{call_sid}")
