"""Outbox writers the call flow calls in the same transaction as the event behind them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement.check import check_entitlement, explain
from kernel.config import Settings
from kernel.phones import caller_e164
from kernel.services import current_settings
from models import Call, CallEvent, CallOutcome, Notification, NotificationChannel, Task, Ticket
from notify import caller_sms, languages
from notify.humantime import human_datetime, zone
from notify.outbox import MANAGERS, add_notification
from routing.numbers import timezone_of
from tickets import events
from tickets.calls import has_event, record_event
from tickets.events import EventKind
from tickets.severity import duration_words, target_minutes

# What the caller is told to expect after leaving a message.
CALLBACK_MINUTES = 30
# A locked-out caller's refusal, in the caller's words (the ticket keeps the English one).
LOCKED_OUT = {"de": "zu viele falsche PINs von dieser Nummer oder Firma"}
NOT_ENTITLED = {"de": "Ihr Konto hat derzeit keinen Anspruch auf Telefon-Support"}


def call_ended(
    session: Session,
    call: Call,
    now: datetime,
    settings: Settings | None = None,
    callback_task: bool | None = None,
) -> int:
    """Queue the caller's SMS and the technical contact's email for an ended call, both in the
    language the caller heard (the number called, or the one they chose); rows added.

    `callback_task` says whether a task names the call, when the caller knows (it just made
    sure of one); None looks it up.
    """
    settings = settings or _settings()
    ticket = call.ticket
    context = _ticket_context(
        session, ticket, call, settings, call.language, for_customer=True,
        callback_task=callback_task,
    )  # fmt: skip
    added = int(_caller_sms(session, call, context, now, settings))
    contact = ticket.account.technical_contact() if ticket.account else None
    if contact is not None and contact.email:
        added += add_notification(
            session,
            kind="call_summary",
            channel=NotificationChannel.EMAIL,
            recipient=contact.email,
            payload={**context, "contact_name": contact.name},
            now=now,
            dedupe_key=f"call-ended-email-{call.id}",
            ticket_id=ticket.id,
        )
    return added


def engineer_accepted(
    session: Session,
    call: Call,
    engineer_phone: str,
    engineer_name: str,
    now: datetime,
    settings: Settings | None = None,
) -> bool:
    """Queue the details SMS to the engineer who accepted `call`."""
    settings = settings or _settings()
    context = _ticket_context(session, call.ticket, call, settings)
    return add_notification(
        session,
        kind="engineer_accepted",
        channel=NotificationChannel.SMS,
        recipient=engineer_phone,
        payload={**context, "engineer_name": engineer_name},
        now=now,
        dedupe_key=f"engineer-accepted-{call.id}",
        ticket_id=call.ticket.id,
    )


def nobody_accepted(
    session: Session,
    call: Call,
    now: datetime,
    engineer_phones: Iterable[str] = (),
    settings: Settings | None = None,
) -> int:
    """Queue the managers' SMS and email, and an SMS to each on-call engineer; rows added."""
    settings = settings or _settings()
    context = {
        **_ticket_context(session, call.ticket, call, settings),
        "at": now.isoformat(),
        # Managers read the hotline's own clock.
        "at_text": human_datetime(now, zone(settings.hotline_timezone)),
    }
    targets: list[tuple[NotificationChannel, str, str]] = [
        (NotificationChannel.SMS, MANAGERS, "sms"),
        (NotificationChannel.EMAIL, MANAGERS, "email"),
    ]
    targets += [(NotificationChannel.SMS, phone, phone) for phone in dict.fromkeys(engineer_phones)]
    return sum(
        add_notification(
            session,
            kind="nobody_accepted",
            channel=channel,
            recipient=recipient,
            payload=context,
            now=now,
            dedupe_key=f"nobody-accepted-{call.id}-{suffix}",
            ticket_id=call.ticket.id,
        )
        for channel, recipient, suffix in targets
    )


def textable(number: str | None) -> bool:
    """True when `number` is a caller ID an SMS could go to (shown and a possible number)."""
    return caller_e164(number) is not None


def _caller_sms(
    session: Session, call: Call, context: dict[str, Any], now: datetime, settings: Settings
) -> bool:
    """Queue the caller's SMS when it is owed; otherwise record on the ticket why not."""
    dedupe_key = f"call-ended-sms-{call.id}"
    number = caller_sms.recipient(session, call, settings)
    if isinstance(number, caller_sms.Withheld):
        _record_withheld(session, call, number, now)
        return False
    # A repeated status callback must not count against the caps a second time.
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return False
    over_cap = caller_sms.take_cap(session, number, now, settings)
    if over_cap is not None:
        _record_withheld(session, call, over_cap, now)
        return False
    return add_notification(
        session,
        kind="call_ended",
        channel=NotificationChannel.SMS,
        recipient=number,
        payload=context,
        now=now,
        dedupe_key=dedupe_key,
        ticket_id=call.ticket.id,
    )


def _record_withheld(
    session: Session, call: Call, reason: caller_sms.Withheld, now: datetime
) -> None:
    # Once per call, however often the status callback repeats.
    session.flush()
    if not has_event(session, call, EventKind.SMS_WITHHELD):
        record_event(session, call, events.SmsWithheld(reason=reason.value), now)


def customer_zone(session: Session, ticket: Ticket, call: Call | None, settings: Settings) -> str:
    """The customer's clock: the account's time zone, else the region of the number called,
    else the hotline's."""
    if ticket.account and ticket.account.timezone:
        return ticket.account.timezone
    number_zone = timezone_of(session, call.to_number) if call is not None else None
    return number_zone or settings.hotline_timezone


def _ticket_context(
    session: Session,
    ticket: Ticket,
    call: Call,
    settings: Settings,
    language: str | None = None,
    for_customer: bool = False,
    callback_task: bool | None = None,
) -> dict[str, Any]:
    """What the templates say about one call: its own outcome, engineer and number.

    Several calls can share a ticket; each caller is told what happened on their own call,
    and alerts give the number of the caller they are about. Words people read (outcome,
    dates, durations) are in `language`: the caller's for their texts, English for staff.
    """
    accepted = _accepted_event(session, call)
    outcome = call.outcome or CallOutcome.ABANDONED
    # Staff texts give no call dates: only a customer's needs the number's region looked up.
    local = (
        customer_zone(session, ticket, call, settings)
        if for_customer
        else (ticket.account.timezone if ticket.account else None)
    )
    where = zone(local, settings.hotline_timezone)
    duration = call.duration_seconds
    caller = call.from_number if textable(call.from_number) else None
    # A severity 2-4 message is answered within its target; every other promise is 30 minutes.
    callback_minutes = (
        target_minutes(dict(settings.severity_target_minutes), ticket.severity)
        if ticket.severity and ticket.severity > 1
        else CALLBACK_MINUTES
    )
    return {
        "language": language,
        # Engineers call the customer back: they need to know the language the caller spoke.
        "caller_language": languages.spoken_by_caller(call.language),
        "ticket": ticket.number,
        "ticket_id": ticket.id,
        "ticket_url": f"{settings.public_base_url}/dashboard/tickets/{ticket.id}",
        "account": ticket.account.name if ticket.account else None,
        "contact_name": ticket.contact_name,
        "callback_number": caller or ticket.contact_phone,
        "caller": caller,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "outcome": outcome.value,
        "outcome_text": languages.outcome_words(outcome.value, language),
        "refusal_reason": _refusal_words(session, ticket, call, language),
        "engineer_name": (accepted.engineer_name if accepted else None) or call.answered_by,
        "engineer": accepted.engineer if accepted else None,
        "callback_minutes": callback_minutes,
        "respond_within": duration_words(callback_minutes, language),
        "contact_point": settings.account_management_number or settings.customer_portal_url,
        # A promise is repeated in writing only where a task exists to keep it.
        "callback_task": _has_task(session, call, callback_task),
        "started_at": call.started_at.isoformat() if call.started_at else None,
        # People read the account's own wall clock, never an ISO string.
        "started_at_text": (
            human_datetime(call.started_at, where, language) if call.started_at else None
        ),
        "duration": languages.duration_of_call(duration, language),
    }


def _refusal_words(
    session: Session, ticket: Ticket, call: Call, language: str | None
) -> str | None:
    """Why the call was not taken, in `language` (the ticket keeps it in English, for staff)."""
    reason = ticket.refusal_reason
    key = languages.primary(language)
    if reason is None or key == languages.ENGLISH:
        return reason
    if reason.startswith("locked out"):
        return LOCKED_OUT.get(key, reason)
    generic = NOT_ENTITLED.get(key, reason)
    if ticket.account is None:
        return generic
    # The verdict again, as it stood on the call, to say its reason in the caller's words.
    at = call.pin_accepted_at or call.started_at or ticket.created_at
    verdict = check_entitlement(session, ticket.account, at)
    return explain(verdict, language) if verdict.reason == reason else generic


def _has_task(session: Session, call: Call, known: bool | None) -> bool:
    """True when a task names the call (`known` when the caller already knows the answer)."""
    if known is not None:
        return known
    return session.scalar(select(Task.id).where(Task.call_id == call.id).limit(1)) is not None


def _accepted_event(session: Session, call: Call) -> events.Accepted | None:
    # This call's own acceptance: another call on the ticket may have reached someone else.
    if call.accepted_attempt_id is None:
        # An Accepted event is only ever recorded with the claim that sets the attempt.
        return None
    row = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_id == call.id, CallEvent.kind == EventKind.ACCEPTED.value)
        .order_by(CallEvent.at.desc(), CallEvent.id.desc())
        .limit(1)
    ).first()
    return None if row is None else events.payload_of(row, events.Accepted)


def _settings() -> Settings:
    return current_settings()
