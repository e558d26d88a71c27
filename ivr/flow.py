"""The call flow as plain Python: each webhook's input and the database decide the next step."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from entitlement.check import check_entitlement
from entitlement.policy import PinPolicy
from entitlement.verify import grant_elevated_access, verify_pin
from ivr import prompts
from ivr.steps import (
    AskPin,
    AskProduct,
    AskSeverity,
    AskSeverityDetail,
    Goodbye,
    HoldForEngineers,
    Silence,
    Step,
    TakeMessage,
    Then,
    Transfer,
)
from kernel.services import current_settings
from kernel.twilio_fields import CallStatus, TranscriptionStatus
from models import Call, CallOutcome, CallState, PinOutcome, Ticket
from notify import task_alerts, triggers
from routing import ringing
from routing.last_known import LastKnown
from routing.ring_plan import RingPlan
from routing.store import plan_for_product
from tickets import events
from tickets.calls import events_of, has_event, join_open_severity1_ticket, record_event
from tickets.events import EventKind
from tickets.outcome import set_call_outcome
from tickets.severity import SEVERITY_WITHOUT_ANSWER, duration_words, set_response_due

log = logging.getLogger(__name__)

MAX_SILENT_PROMPTS = 1
MAX_MENU_MISTAKES = 3


@dataclass(frozen=True)
class FlowConfig:
    """The settings the call flow reads."""

    pin_policy: PinPolicy
    oncall_number: str | None
    emergency_number: str | None
    account_management_number: str | None
    customer_portal: str
    # Where the ring order of each plan loaded is kept for degraded mode.
    last_known: LastKnown | None = None
    # Response targets in minutes by severity (2-4), for messages.
    severity_targets: dict[int, int] = field(default_factory=dict)


def _goodbye_with_ticket(ticket: Ticket, before: str = "") -> Goodbye:
    text = prompts.TICKET_AND_SMS.format(ticket=prompts.spoken_ticket(ticket.id))
    return Goodbye(f"{before} {text}".strip())


def _silence(call: Call, retry: Step, session: Session, now: datetime, step: str) -> Step:
    """The no-input path: one re-prompt, then a message."""
    call.silent_prompts += 1
    record_event(session, call, events.NoInput(step=step, count=call.silent_prompts), now)
    if call.silent_prompts <= MAX_SILENT_PROMPTS:
        return retry
    return _take_message(call, now, prompts.LEAVE_MESSAGE)


def _take_message(call: Call, now: datetime, preface: str) -> Step:
    call.state = CallState.MESSAGE
    return TakeMessage(preface)


def keep_message(call: Call, now: datetime) -> None:
    """A message was left on this call (also through the fallback's voicemail)."""
    set_call_outcome(call, CallOutcome.MESSAGE, now)


def start(session: Session, call: Call, now: datetime) -> Step:
    """The greeting and PIN prompt of a call just opened (its state is already PIN)."""
    return AskPin(greet=True)


def on_pin(session: Session, call: Call, keys: str, now: datetime, config: FlowConfig) -> Step:
    """Check the PIN, then entitlement; route to the product menu or the severity question."""
    if not keys.strip():
        return _silence(call, AskPin(preface=prompts.NO_INPUT_PIN), session, now, "pin")
    check = verify_pin(session, keys, call.from_number, call.call_sid, now, config.pin_policy)
    ticket = call.ticket
    if not check.ok:
        record_event(session, call, events.PinFailed(outcome=check.outcome.value), now)
        if check.locked_until is not None or check.outcome is PinOutcome.LOCKED_OUT:
            # Locked out (perhaps by someone else guessing from this number): the caller can't
            # reach an engineer, but can still leave a message, and the ticket says why.
            ticket.refusal_reason = f"locked out: {check.message or 'too many wrong PINs'}"
            set_call_outcome(call, CallOutcome.REFUSED, now)
            record_event(session, call, events.LockedOut(reason=check.message), now)
            preface = f"{check.message or ''} {prompts.LEAVE_MESSAGE_AFTER_REFUSAL}".strip()
            return _take_message(call, now, preface)
        if check.tries_left:
            return AskPin(preface=f"{check.message} {prompts.TRY_AGAIN}")
        portal = prompts.HOW_TO_GET_PIN.format(portal=config.customer_portal)
        return _take_message(call, now, f"{check.message} {portal} {prompts.LEAVE_MESSAGE}")

    account = check.account
    assert account is not None
    ticket.account = account
    call.account_id = account.id
    call.pin_accepted_at = now
    call.pin_kind = check.pin_kind
    # The call keeps its own grant: if it joins another ticket, the grant goes with it.
    call.elevated_access_until = check.elevated_until
    contact = account.technical_contact()
    ticket.contact_name = contact.name if contact else None
    grant_elevated_access(ticket, check)
    elevated_until = check.elevated_until.isoformat() if check.elevated_until else None
    pin_kind = check.pin_kind.value if check.pin_kind else None
    record_event(
        session,
        call,
        events.PinOk(account=account.name, pin_kind=pin_kind, elevated_until=elevated_until),
        now,
    )
    verdict = check_entitlement(session, account, now)
    record_event(
        session,
        call,
        events.Entitlement(
            entitled=verdict.entitled,
            reason=verdict.reason,
            support_licences=verdict.support_licences,
            user_licences=verdict.user_licences,
        ),
        now,
    )
    if not verdict.entitled:
        reason = f"We can't open a support call: {verdict.reason}."
        ticket.refusal_reason = verdict.reason
        ticket.subject = f"Refused call from {account.name}: not entitled"
        if config.account_management_number:
            call.state = CallState.TRANSFERRED
            set_call_outcome(call, CallOutcome.TRANSFERRED, now)
            return Transfer(
                f"{reason} {prompts.TRANSFER_ACCOUNT_MANAGEMENT}", config.account_management_number
            )
        set_call_outcome(call, CallOutcome.REFUSED, now)
        return _take_message(call, now, f"{reason} {prompts.LEAVE_MESSAGE_AFTER_REFUSAL}")
    call.entitled_at = now
    call.silent_prompts = 0
    if len(account.products) > 1:
        call.state = CallState.PRODUCT
        return AskProduct(tuple(product.name for product in account.products))
    if account.products:
        ticket.product = call.product = account.products[0]
    call.state = CallState.SEVERITY
    return AskSeverity()


def on_product(session: Session, call: Call, keys: str, now: datetime) -> Step:
    """Record the product chosen from the menu, then ask the severity."""
    ticket = call.ticket
    products = ticket.account.products if ticket.account else []
    names = tuple(product.name for product in products)
    if not keys.strip():
        return _silence(call, AskProduct(names, prompts.NO_INPUT_MENU), session, now, "product")
    choice = int(keys[0]) if keys[0].isdigit() else 0
    if not 1 <= choice <= len(products):
        call.menu_mistakes += 1
        record_event(session, call, events.MenuInvalid(step="product"), now)
        if call.menu_mistakes >= MAX_MENU_MISTAKES:
            call.state = CallState.SEVERITY
            return AskSeverity(prompts.INVALID_CHOICE)
        return AskProduct(names, prompts.INVALID_CHOICE)
    ticket.product = call.product = products[choice - 1]
    record_event(session, call, events.Menu(step="product", choice=call.product.name), now)
    call.silent_prompts = 0
    call.state = CallState.SEVERITY
    return AskSeverity()


def on_severity(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step | Then:
    """1: ring the on-call engineers while the caller holds; 2: ask how bad, then a message."""
    if call.state is CallState.SEVERITY_DETAIL:
        return on_severity_detail(session, call, keys, now, config)
    ticket = call.ticket
    if not keys.strip():
        return _silence(call, AskSeverity(prompts.NO_INPUT_MENU), session, now, "severity")
    if keys[0] not in "12":
        record_event(session, call, events.MenuInvalid(step="severity"), now)
        return AskSeverity(prompts.INVALID_CHOICE)
    if keys[0] == "2":
        call.silent_prompts = 0
        call.state = CallState.SEVERITY_DETAIL
        return AskSeverityDetail()
    record_event(session, call, events.Severity(severity=1), now)
    account_name = ticket.account.name if ticket.account else "unknown caller"
    if ticket.account is not None:
        joined = join_open_severity1_ticket(session, call, ticket.account, now)
        if joined is not None:
            record_event(session, call, events.JoinedTicket(ticket=joined.number), now)
            # The joined incident keeps its subject and product; this call keeps its own.
            return start_ringing(session, call, now, config)
    ticket.severity = 1
    ticket.subject = f"Severity 1 from {account_name}: service down"
    ticket.updated_at = now
    return start_ringing(session, call, now, config)


def on_severity_detail(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step:
    """2: seriously degraded; 3: a question or minor problem; then a message with its target."""
    key = keys.strip()[:1]
    if key and key not in "23":
        record_event(session, call, events.MenuInvalid(step="severity_detail"), now)
        return AskSeverityDetail(prompts.INVALID_CHOICE)
    if not key:
        call.silent_prompts += 1
        record_event(
            session, call, events.NoInput(step="severity_detail", count=call.silent_prompts), now
        )
        if call.silent_prompts <= MAX_SILENT_PROMPTS:
            return AskSeverityDetail(prompts.NO_INPUT_MENU)
    severity = int(key) if key else SEVERITY_WITHOUT_ANSWER
    record_event(session, call, events.Severity(severity=severity), now)
    ticket = call.ticket
    account_name = ticket.account.name if ticket.account else "unknown caller"
    ticket.severity = severity
    ticket.subject = f"Severity {severity} from {account_name}"
    ticket.updated_at = now
    due = set_response_due(ticket, config.severity_targets, severity, now)
    target = duration_words(round((due - now).total_seconds() / 60))
    return _take_message(call, now, prompts.LEAVE_MESSAGE_WITH_TARGET.format(target=target))


def start_ringing(session: Session, call: Call, now: datetime, config: FlowConfig) -> Step | Then:
    """Hold the caller and ring the engineers the product's escalation policy names."""
    if call.pin_accepted_at is None or call.entitled_at is None:
        # The state machine never gets here without both; if it ever did, nobody is rung.
        log.error("refused to ring for call %s: no accepted PIN and entitlement", call.call_sid)
        return _take_message(call, now, prompts.LEAVE_MESSAGE)
    # This call's own product: a second caller joining an incident is rung by its own policy.
    plan = RingPlan.from_steps(plan_for_product(session, call.product_id, now))
    if not plan.has_targets and config.oncall_number:
        plan = RingPlan.single_number(config.oncall_number)
    # Degraded mode rings these if the database is unreachable later.
    if config.last_known is not None:
        config.last_known.remember(plan.phones())
    progress = ringing.start(session, call, plan, now)
    if progress.exhausted:
        log.error(
            "nobody to ring for severity-1 call %s: load a routing configuration", call.call_sid
        )
        return nobody_answered(session, call, now)
    call.state = CallState.RINGING
    record_event(session, call, events.RingingStarted(engineers=len(progress.place)), now)
    return Then(HoldForEngineers(call.id), progress)


def nobody_answered(session: Session, call: Call, now: datetime) -> Step:
    """Every engineer was tried: alert managers and engineers, and take a message."""
    if not has_event(session, call, EventKind.NOBODY_ACCEPTED):
        tried = ringing.plan_phones(call)
        record_event(session, call, events.NobodyAccepted(tried=tried), now)
        set_call_outcome(call, CallOutcome.MISSED, now)
        settings = current_settings()
        task = task_alerts.callback_promised(
            session, call, "nobody accepted the severity-1 call", now, settings
        )
        # The on-call engineers the callback task texts need no second text about the same call.
        texted = task_alerts.on_call_phones(session, task, now, settings) if task else []
        others = [phone for phone in tried if phone not in texted]
        triggers.nobody_accepted(session, call, now, engineer_phones=others)
    return _take_message(call, now, prompts.NOBODY_ANSWERED)


def on_recorded(
    session: Session, call: Call, recording_url: str, seconds: int, now: datetime
) -> Step:
    """Thank the caller for a message (or note that none was heard) and give the ticket number."""
    ticket = call.ticket
    call.state = CallState.FINISHED
    if not recording_url or seconds == 0:
        record_event(session, call, events.RecordingEmpty(), now)
        ticket.updated_at = now
        return _goodbye_with_ticket(ticket, prompts.NO_MESSAGE_HEARD)
    record_event(session, call, events.Recording(url=recording_url, seconds=seconds), now)
    set_call_outcome(call, CallOutcome.MESSAGE, now)
    if call.entitled_at is not None:
        # Only an entitled caller's message puts a promise on the engineers' phones; a callback
        # already promised on this call covers the message too.
        task_alerts.message_left(session, call, now, current_settings())
    return _goodbye_with_ticket(ticket, "Thank you.")


def on_transcription(
    session: Session, call: Call, text: str, status: TranscriptionStatus, now: datetime
) -> Step:
    """Keep the voicemail's transcription as the ticket's description (once per call)."""
    if has_event(session, call, EventKind.TRANSCRIPTION):
        return Silence()
    record_event(session, call, events.Transcription(status=status.value, text=text), now)
    if status is TranscriptionStatus.COMPLETED and text:
        call.ticket.description = text
        call.ticket.updated_at = now
    return Silence()


def on_status(
    session: Session, call: Call, status: CallStatus, duration: int | None, now: datetime
) -> Step | Then:
    """The call ended: keep its duration, stop any ringing, mark an unfinished ticket abandoned."""
    if call.ended_at is not None or not status.final:
        return Silence()
    progress = ringing.Progress()
    if call.ring_plan is not None:
        ringing.lock(session, call)
    hung_up_ringing = ringing.is_ringing(call)
    if hung_up_ringing:
        progress = ringing.cancel_all(session, call, now)
        reason = "the caller hung up while engineers were being rung"
        task_alerts.callback_promised(session, call, reason, now, current_settings())
    call.status = status.value
    call.ended_at = now
    call.duration_seconds = duration
    record_event(
        session, call, events.CallEnded(status=status.value, seconds=call.duration_seconds), now
    )
    if call.outcome is None:
        abandoned = CallOutcome.ABANDONED_RINGING if hung_up_ringing else CallOutcome.ABANDONED
        set_call_outcome(call, abandoned, now)
        record_event(session, call, events.Abandoned(step=call.state.value), now)
    call.state = CallState.ENDED
    triggers.call_ended(session, call, now)
    return Then(Silence(), progress)


def on_recording_status(
    session: Session, call: Call, recording_url: str, status: str, now: datetime
) -> Step:
    """Keep the stored recording's URL on the timeline (it is the ticket's attachment)."""
    stored = events.RecordingStatus(status=status, url=recording_url)
    if stored in events_of(session, call, events.RecordingStatus):
        return Silence()
    record_event(session, call, stored, now)
    return Silence()
