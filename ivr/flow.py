"""The call flow as plain Python: each webhook's input and the database decide the next step."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from entitlement import pinless
from entitlement.check import check_entitlement, explain
from entitlement.policy import PinPolicy
from entitlement.verify import PinCheck, grant_elevated_access, verify_pin
from ivr import prompts
from ivr.languages import catalogue, pin_refusal
from ivr.prompts import Prompts
from ivr.steps import (
    AskCode,
    AskPin,
    AskProduct,
    AskRegisteredNumber,
    AskSeverity,
    AskSeverityDetail,
    Goodbye,
    HoldForEngineers,
    Silence,
    Step,
    TakeMessage,
    Text,
    Then,
    Transfer,
)
from kernel.phones import caller_e164
from kernel.services import current_settings
from kernel.twilio_fields import CallStatus, TranscriptionStatus
from models import Account, Call, CallOutcome, CallState, Contact, PinKind, PinOutcome, Ticket
from notify import caller_sms, task_alerts, triggers
from routing import numbers, ringing
from routing.last_known import LastKnown
from routing.ring_plan import RingPlan
from routing.store import Snapshot, plan_for_product, snapshot_columns, snapshot_of
from tickets import events
from tickets.calls import (
    events_of,
    find_call,
    has_event,
    join_ticket,
    record_event,
    ticket_and_open_incident,
)
from tickets.events import EventKind
from tickets.outcome import set_call_outcome
from tickets.severity import duration_words, set_response_due

log = logging.getLogger(__name__)

MAX_SILENT_PROMPTS = 1
MAX_MENU_MISTAKES = 3
# The key, alone at the greeting, that switches to the language the number offers.
LANGUAGE_KEY = "9"
NO_PIN_KEYS = "**"
# Not down, and no usable answer to "how bad": the more urgent of the two answers left.
SAFEST_DETAIL = 2


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
    # The callback promised when nobody accepts (CALLBACK_DUE_MINUTES).
    callback_minutes: int = 30


def prompts_of(call: Call) -> Prompts:
    """The caller's prompts, in the language of the number they called (or chose)."""
    return catalogue(call.language)


def _goodbye_with_ticket(session: Session, call: Call, ticket: Ticket, before: str = "") -> Goodbye:
    p = prompts_of(call)
    # "We will text it" only when a text is owed and can reach the caller.
    recipient = caller_sms.recipient(session, call, current_settings())
    owed = not isinstance(recipient, caller_sms.Withheld)
    template = p.TICKET_AND_SMS if owed else p.TICKET_ONLY
    text = template.format(ticket=prompts.spoken_ticket(ticket.id))
    return Goodbye(f"{before} {text}".strip())


def _silence(call: Call, retry: Step, session: Session, now: datetime, step: str) -> Step:
    """The no-input path: one re-prompt, then a message."""
    call.silent_prompts += 1
    record_event(session, call, events.NoInput(step=step, count=call.silent_prompts), now)
    if call.silent_prompts <= MAX_SILENT_PROMPTS:
        return retry
    return _take_message(call, now, prompts_of(call).LEAVE_MESSAGE)


def _take_message(call: Call, now: datetime, preface: str) -> Step:
    call.state = CallState.MESSAGE
    return TakeMessage(preface)


def keep_message(call: Call, now: datetime) -> None:
    """A message was left on this call (also through the fallback's voicemail)."""
    set_call_outcome(call, CallOutcome.MESSAGE, now)


def greeting(session: Session, call: Call) -> AskPin:
    """The greeting and PIN prompt, offering the other language the number called has."""
    return _greeting_offering(call, numbers.offered_language(session, call.to_number))


def _greeting_offering(call: Call, offer: str | None) -> AskPin:
    switch_to = "" if offer is None or offer == call.language else catalogue(offer).SWITCH_TO
    return AskPin(greet=True, switch_to=switch_to)


def start(session: Session, call: Call, now: datetime) -> Step:
    """The greeting and PIN prompt of a call just opened (its state is already PIN)."""
    # One look at the number called gives both its language and the one it offers.
    number = numbers.hotline_number(session, call.to_number)
    call.language = number.language if number else None
    return _greeting_offering(call, number.offer if number else None)


def _pin_hints_due(call: Call) -> bool:
    """The "p" PIN and no-PIN hints come once: with the first re-prompt of the call."""
    return call.silent_prompts == 0 and call.menu_mistakes == 0


def on_pin(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step | Then:
    """Check the PIN, then entitlement; route to the product menu or the severity question."""
    if call.state is CallState.NO_PIN_NUMBER:
        return on_registered_number(session, call, keys, now, config)
    if call.state is CallState.NO_PIN_CODE:
        return on_code(session, call, keys, now, config)
    p = prompts_of(call)
    keys = keys.strip()
    if not keys:
        hints = _pin_hints_due(call)
        return _silence(call, AskPin(p.NO_INPUT_PIN, hints=hints), session, now, "pin")
    if keys.removesuffix("#") == NO_PIN_KEYS:
        return start_no_pin(session, call, now, config)
    if keys.removesuffix("#") == LANGUAGE_KEY:
        offer = numbers.offered_language(session, call.to_number)
        if offer is not None:
            call.language = offer
            record_event(session, call, events.Language(language=offer), now)
            return greeting(session, call)
    check = verify_pin(session, keys, call.from_number, call.call_sid, now, config.pin_policy)
    if not check.ok:
        return _pin_refused(session, call, keys, check, now, config)
    if check.redial_of is not None:
        dropped = find_call(session, check.redial_of)
        if dropped is not None and dropped.ticket_id != call.ticket_id:
            join_ticket(session, call, dropped.ticket, now)
            record_event(session, call, events.Redial(dropped_call=check.redial_of), now)
    return _pin_accepted(session, call, check, now, config)


def _pin_refused(
    session: Session, call: Call, keys: str, check: PinCheck, now: datetime, config: FlowConfig
) -> Step | Then:
    """A wrong PIN: try again (with the hints once), then the way through without a PIN."""
    p = prompts_of(call)
    ticket = call.ticket
    # The ticket keeps the English sentence; the caller hears it in their language.
    said = pin_refusal(check, p, now, config.pin_policy.tries_per_call)
    record_event(session, call, events.PinFailed(outcome=check.outcome.value), now)
    if check.locked_until is not None or check.outcome is PinOutcome.LOCKED_OUT:
        # Locked out (perhaps by someone else guessing from this number): the caller can't
        # reach an engineer, but can still leave a message, and the ticket says why.
        ticket.refusal_reason = f"locked out: {check.message or 'too many wrong PINs'}"
        set_call_outcome(call, CallOutcome.REFUSED, now)
        record_event(session, call, events.LockedOut(reason=check.message), now)
        portal = p.HOW_TO_GET_PIN.format(portal=config.customer_portal)
        preface = _join(said, portal, p.LEAVE_MESSAGE_AFTER_REFUSAL)
        return _take_message(call, now, preface)
    hints = _pin_hints_due(call)
    call.menu_mistakes += 1
    # A "p" PIN typed with 7 for the letter: say how to type it instead of only "not recognised".
    seven = keys.startswith("7") and check.outcome is PinOutcome.UNKNOWN
    hint = p.SEVEN_FOR_P if seven else ""
    if check.tries_left:
        return AskPin(_join(said, hint, p.TRY_AGAIN), hints=hints and not seven)
    # Out of tries: a caller in an outage still needs a way through (and, for next time,
    # where the PIN is kept).
    portal = p.HOW_TO_GET_PIN.format(portal=config.customer_portal)
    return start_no_pin(session, call, now, config, _join(said, hint, portal))


def _join(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _pin_accepted(
    session: Session, call: Call, check: PinCheck, now: datetime, config: FlowConfig
) -> Step | Then:
    """A PIN (or a texted code) identified the account: check entitlement, then ask on."""
    p = prompts_of(call)
    ticket = call.ticket
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
        reason = p.NOT_ENTITLED.format(reason=explain(verdict, p.language))
        ticket.refusal_reason = verdict.reason
        ticket.subject = f"Refused call from {account.name}: not entitled"
        if config.account_management_number:
            call.state = CallState.TRANSFERRED
            set_call_outcome(call, CallOutcome.TRANSFERRED, now)
            return Transfer(
                f"{reason} {p.TRANSFER_ACCOUNT_MANAGEMENT}", config.account_management_number
            )
        set_call_outcome(call, CallOutcome.REFUSED, now)
        return _take_message(call, now, f"{reason} {p.LEAVE_MESSAGE_AFTER_REFUSAL}")
    call.entitled_at = now
    call.silent_prompts = 0
    call.menu_mistakes = 0
    if len(account.products) > 1:
        call.state = CallState.PRODUCT
        return AskProduct(tuple(product.name for product in account.products))
    if account.products:
        ticket.product = call.product = account.products[0]
    call.state = CallState.SEVERITY
    return AskSeverity()


def start_no_pin(
    session: Session, call: Call, now: datetime, config: FlowConfig, preface: str = ""
) -> Step | Then:
    """The way through without a PIN: a code to the contact whose number is calling, else ask
    for the company's registered number."""
    call.silent_prompts = 0
    call.menu_mistakes = 0
    caller = caller_e164(call.from_number, config.pin_policy.home_region)
    contacts = pinless.contacts_registering(session, caller)
    if contacts:
        return _send_code(session, call, contacts, "caller ID", now, config, preface)
    call.state = CallState.NO_PIN_NUMBER
    return AskRegisteredNumber(preface)


def on_registered_number(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step | Then:
    """The registered number keyed in: text a code to that contact, or say it is unknown."""
    p = prompts_of(call)
    if not keys.strip():
        call.silent_prompts += 1
        record_event(
            session, call, events.NoInput(step="registered_number", count=call.silent_prompts), now
        )
        if call.silent_prompts <= MAX_SILENT_PROMPTS:
            return AskRegisteredNumber(p.NO_INPUT_MENU)
        return _no_registered_contact(session, call, now, config, "no number keyed in")
    contacts, refusal = pinless.check_typed_number(
        session, keys, call.from_number, call.call_sid, now, config.pin_policy
    )
    if refusal is not None:
        return _no_registered_contact(session, call, now, config, "PIN limits reached")
    if contacts:
        return _send_code(session, call, contacts, "registered number", now, config)
    call.menu_mistakes += 1
    record_event(session, call, events.MenuInvalid(step="registered_number"), now)
    if call.menu_mistakes >= MAX_MENU_MISTAKES:
        return _no_registered_contact(session, call, now, config, "number not registered")
    return AskRegisteredNumber(p.NUMBER_NOT_REGISTERED)


def _send_code(
    session: Session,
    call: Call,
    contacts: list[Contact],
    matched_by: str,
    now: datetime,
    config: FlowConfig,
    preface: str = "",
) -> Step | Then:
    """Text a one-time code to the first of `contacts` that can take one, then ask for it."""
    p = prompts_of(call)
    for contact in contacts:
        code = pinless.issue_code(session, contact, now, config.pin_policy, call.language)
        if code is None:
            continue
        call.state = CallState.NO_PIN_CODE
        call.silent_prompts = 0
        call.menu_mistakes = 0
        sent = events.CodeSent(
            account=code.account.name,
            to_last4=code.last4,
            pin_id=code.pin_id,
            matched_by=matched_by,
        )
        record_event(session, call, sent, now)
        text = _join(preface, p.CODE_SENT.format(last4=prompts.spoken_digits(code.last4)))
        return Then(AskCode(text), ringing.Progress(), (Text(code.phone, code.text),))
    return _no_registered_contact(session, call, now, config, "no contact could be texted")


def on_code(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step | Then:
    """The texted code: it counts as the PIN for this call (recorded, managers alerted)."""
    p = prompts_of(call)
    sent = events_of(session, call, events.CodeSent)
    if not keys.strip():
        call.silent_prompts += 1
        record_event(session, call, events.NoInput(step="code", count=call.silent_prompts), now)
        if call.silent_prompts <= MAX_SILENT_PROMPTS + 1:
            last4 = prompts.spoken_digits(sent[-1].to_last4) if sent else ""
            return AskCode(_join(p.NO_INPUT_CODE, p.CODE_SENT.format(last4=last4)))
        return _no_registered_contact(session, call, now, config, "no code keyed in")
    check = verify_pin(
        session,
        keys,
        call.from_number,
        call.call_sid,
        now,
        config.pin_policy,
        tries_key=f"{call.call_sid}:code",
    )
    if not check.ok:
        record_event(session, call, events.PinFailed(outcome=check.outcome.value), now)
        if check.tries_left and check.locked_until is None:
            return AskCode(_join(p.WRONG_CODE, p.TRY_AGAIN))
        return _no_registered_contact(session, call, now, config, "wrong code")
    texted = any(code.pin_id == check.pin_id for code in sent)
    if texted and check.account is not None:
        account = check.account
        check = dataclasses.replace(check, pin_kind=PinKind.TEXTED_CODE)
        pinless.alert_code_used(
            session,
            account,
            call.from_number or None,
            call.call_sid,
            f"HL-{call.ticket_id}",
            now,
        )
    return _pin_accepted(session, call, check, now, config)


def _no_registered_contact(
    session: Session, call: Call, now: datetime, config: FlowConfig, reason: str
) -> Step:
    """Nobody registered can be texted: a message that becomes a high-priority task."""
    p = prompts_of(call)
    record_event(session, call, events.NoPinRefused(reason=reason), now)
    call.ticket.subject = "Caller without a PIN: not verified"
    task = task_alerts.unverified_callback(
        session, call, f"a caller without a PIN ({reason})", now, current_settings()
    )
    promise = p.CALLBACK_PROMISE.format(minutes=config.callback_minutes) if task else ""
    return _take_message(call, now, _join(p.NO_REGISTERED_CONTACT, promise, p.LEAVE_DETAILS))


def on_product(session: Session, call: Call, keys: str, now: datetime) -> Step:
    """Record the product chosen from the menu, then ask the severity."""
    p = prompts_of(call)
    ticket = call.ticket
    products = ticket.account.products if ticket.account else []
    names = tuple(product.name for product in products)
    if not keys.strip():
        if call.silent_prompts >= MAX_SILENT_PROMPTS:
            # Silent twice: the product is not worth a message; ask what matters most.
            record_event(session, call, events.NoInput(step="product", count=2), now)
            call.silent_prompts = 0
            call.state = CallState.SEVERITY
            return AskSeverity()
        return _silence(call, AskProduct(names, p.NO_INPUT_MENU), session, now, "product")
    choice = int(keys[0]) if keys[0].isdigit() else 0
    if not 1 <= choice <= len(products):
        call.menu_mistakes += 1
        record_event(session, call, events.MenuInvalid(step="product"), now)
        if call.menu_mistakes >= MAX_MENU_MISTAKES:
            call.menu_mistakes = 0
            call.silent_prompts = 0
            call.state = CallState.SEVERITY
            return AskSeverity(p.INVALID_CHOICE)
        return AskProduct(names, p.INVALID_CHOICE)
    ticket.product = call.product = products[choice - 1]
    record_event(session, call, events.Menu(step="product", choice=call.product.name), now)
    call.silent_prompts = 0
    call.menu_mistakes = 0
    call.state = CallState.SEVERITY
    return AskSeverity()


def on_severity(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step | Then:
    """1: ring the on-call engineers while the caller holds; 2: ask how bad, then a message.

    Silence twice, or three wrong keys, is taken as severity 1 (the caller is told): a caller
    in a complete outage may be unable to answer, and this call's account is entitled.
    """
    if call.state is CallState.SEVERITY_DETAIL:
        return on_severity_detail(session, call, keys, now, config)
    p = prompts_of(call)
    key = keys.strip()[:1]
    if not key:
        call.silent_prompts += 1
        record_event(session, call, events.NoInput(step="severity", count=call.silent_prompts), now)
        if call.silent_prompts <= MAX_SILENT_PROMPTS:
            return AskSeverity(p.NO_INPUT_MENU)
        assumed = events.SeverityAssumed(step="severity", severity=1, why="no answer")
        record_event(session, call, assumed, now)
        return severity_one(session, call, now, config, _join(p.NO_INPUT_MENU, p.SEVERITY_ASSUMED))
    if key not in "12":
        call.menu_mistakes += 1
        record_event(session, call, events.MenuInvalid(step="severity"), now)
        if call.menu_mistakes >= MAX_MENU_MISTAKES:
            assumed = events.SeverityAssumed(step="severity", severity=1, why="wrong keys")
            record_event(session, call, assumed, now)
            preface = _join(p.INVALID_CHOICE, p.SEVERITY_ASSUMED)
            return severity_one(session, call, now, config, preface)
        return AskSeverity(p.INVALID_CHOICE)
    if key == "2":
        call.silent_prompts = 0
        call.menu_mistakes = 0
        call.state = CallState.SEVERITY_DETAIL
        return AskSeverityDetail()
    return severity_one(session, call, now, config)


def severity_one(
    session: Session, call: Call, now: datetime, config: FlowConfig, preface: str = ""
) -> Step | Then:
    """Severity 1: join the account's open incident or make this ticket one, then ring."""
    # The routing in force and its engineers come with the ticket: one round trip for both.
    ticket, incident, routing_now = ticket_and_open_incident(
        session, call, now, *snapshot_columns(session)
    )
    seen = snapshot_of(routing_now)
    record_event(session, call, events.Severity(severity=1), now)
    account_name = ticket.account.name if ticket.account else "unknown caller"
    if ticket.account is not None and incident is not None:
        joined = join_ticket(session, call, incident, now)
        record_event(session, call, events.JoinedTicket(ticket=joined.number), now)
        # The joined incident keeps its subject and product; this call keeps its own.
        return start_ringing(session, call, now, config, preface, seen)
    ticket.severity = 1
    ticket.subject = f"Severity 1 from {account_name}: service down"
    ticket.updated_at = now
    return start_ringing(session, call, now, config, preface, seen)


def ticket_with_account(session: Session, call: Call) -> Ticket:
    """The call's ticket with its account and product, in one query if not yet loaded."""
    # The ring plan reads the product's code, and the subject the account's name.
    ticket = session.get(
        Ticket, call.ticket_id, options=(joinedload(Ticket.account), joinedload(Ticket.product))
    )
    assert ticket is not None  # a call's ticket is never deleted while the call is
    # The call holds it (the session's identity map alone would let it go): no second load.
    set_committed_value(call, "ticket", ticket)
    return ticket


def on_severity_detail(
    session: Session, call: Call, keys: str, now: datetime, config: FlowConfig
) -> Step:
    """2: seriously degraded; 3: a question or minor problem; then a message with its target.

    Silence twice, or three wrong keys, is taken as severity 2 (the more urgent of the two).
    """
    p = prompts_of(call)
    key = keys.strip()[:1]
    preface = ""
    if key and key not in "23":
        call.menu_mistakes += 1
        record_event(session, call, events.MenuInvalid(step="severity_detail"), now)
        if call.menu_mistakes < MAX_MENU_MISTAKES:
            return AskSeverityDetail(p.INVALID_CHOICE)
        key, preface = "", _join(p.INVALID_CHOICE, p.DETAIL_ASSUMED)
    elif not key:
        call.silent_prompts += 1
        record_event(
            session, call, events.NoInput(step="severity_detail", count=call.silent_prompts), now
        )
        if call.silent_prompts <= MAX_SILENT_PROMPTS:
            return AskSeverityDetail(p.NO_INPUT_MENU)
        preface = _join(p.NO_INPUT_MENU, p.DETAIL_ASSUMED)
    severity = int(key) if key else SAFEST_DETAIL
    if not key:
        assumed = events.SeverityAssumed(step="severity_detail", severity=severity, why=preface)
        record_event(session, call, assumed, now)
    record_event(session, call, events.Severity(severity=severity), now)
    ticket = call.ticket
    account_name = ticket.account.name if ticket.account else "unknown caller"
    ticket.severity = severity
    ticket.subject = f"Severity {severity} from {account_name}"
    ticket.updated_at = now
    due = set_response_due(ticket, config.severity_targets, severity, now)
    target = duration_words(round((due - now).total_seconds() / 60), p.language)
    message = p.LEAVE_MESSAGE_WITH_TARGET.format(target=target)
    return _take_message(call, now, _join(preface, message))


def start_ringing(
    session: Session,
    call: Call,
    now: datetime,
    config: FlowConfig,
    preface: str = "",
    seen: Snapshot | None = None,
) -> Step | Then:
    """Hold the caller and ring the engineers the product's escalation policy names."""
    if call.pin_accepted_at is None or call.entitled_at is None:
        # The state machine never gets here without both; if it ever did, nobody is rung.
        log.error("refused to ring for call %s: no accepted PIN and entitlement", call.call_sid)
        return _take_message(call, now, prompts_of(call).LEAVE_MESSAGE)
    # This call's own product: a second caller joining an incident is rung by its own policy
    # (or the policy of the hotline number called, where the routing names one).
    steps = plan_for_product(session, call.product_id, now, called=call.to_number, seen=seen)
    plan = RingPlan.from_steps(steps)
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
    return Then(HoldForEngineers(call.id, preface), progress)


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
        promised = task is not None
    else:
        promised = bool(events_of(session, call, events.CallbackTask))
    p = prompts_of(call)
    # The callback is promised only where its task exists to keep the promise.
    minutes = current_settings().callback_due_minutes
    promise = p.CALLBACK_PROMISE.format(minutes=minutes) if promised else ""
    return _take_message(call, now, _join(p.NOBODY_ANSWERED, promise, p.LEAVE_MESSAGE))


def on_recorded(
    session: Session, call: Call, recording_url: str, seconds: int, now: datetime
) -> Step:
    """Thank the caller for a message (or note that none was heard) and give the ticket number."""
    ticket = call.ticket
    call.state = CallState.FINISHED
    if not recording_url or seconds == 0:
        record_event(session, call, events.RecordingEmpty(), now)
        ticket.updated_at = now
        return _goodbye_with_ticket(session, call, ticket, prompts_of(call).NO_MESSAGE_HEARD)
    record_event(session, call, events.Recording(url=recording_url, seconds=seconds), now)
    set_call_outcome(call, CallOutcome.MESSAGE, now)
    if call.entitled_at is not None:
        # Only an entitled caller's message puts a promise on the engineers' phones; a callback
        # already promised on this call covers the message too.
        task_alerts.message_left(session, call, now, current_settings())
    return _goodbye_with_ticket(session, call, ticket, prompts_of(call).THANK_YOU)


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
    # The call's changes go out in one UPDATE at the commit: nothing read here depends on them.
    with session.no_autoflush:
        _ticket_for_ending(session, call)
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
        ended = events.CallEnded(status=status.value, seconds=call.duration_seconds)
        record_event(session, call, ended, now)
        if call.outcome is None:
            abandoned = CallOutcome.ABANDONED_RINGING if hung_up_ringing else CallOutcome.ABANDONED
            set_call_outcome(call, abandoned, now)
            record_event(session, call, events.Abandoned(step=call.state.value), now)
        call.state = CallState.ENDED
        # A hang-up while ringing made sure of a callback task just now: no need to look.
        triggers.call_ended(session, call, now, callback_task=True if hung_up_ringing else None)
    return Then(Silence(), progress)


def _ticket_for_ending(session: Session, call: Call) -> Ticket:
    """The call's ticket with what ending the call reads, in one query: the account and its
    contacts (the texts), the product (the callback task's policy), the ticket's calls (its
    outcome)."""
    ticket = session.get(
        Ticket,
        call.ticket_id,
        options=(
            joinedload(Ticket.account).joinedload(Account.contacts),
            joinedload(Ticket.product),
            joinedload(Ticket.calls),
        ),
    )
    assert ticket is not None  # a call's ticket is never deleted while the call is
    set_committed_value(call, "ticket", ticket)
    return ticket


def on_recording_status(
    session: Session, call: Call, recording_url: str, status: str, now: datetime
) -> Step:
    """Keep the stored recording's URL on the timeline (it is the ticket's attachment)."""
    stored = events.RecordingStatus(status=status, url=recording_url)
    if stored in events_of(session, call, events.RecordingStatus):
        return Silence()
    record_event(session, call, stored, now)
    return Silence()
