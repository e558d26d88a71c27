"""The engineer's side of a severity-1 call, and the caller's hold loop while engineers ring."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr import prompts
from ivr.flow import nobody_answered, prompts_of
from ivr.prompts import Prompts
from ivr.steps import (
    ConnectEngineer,
    Goodbye,
    HoldForEngineers,
    HoldMusic,
    LeaveQueue,
    Silence,
    Step,
    TakeMessage,
    Then,
    Unchanged,
    Whisper,
)
from kernel.services import current_settings
from kernel.twilio_fields import CallStatus, QueueResult
from models import Call, CallOutcome, CallState
from models.ringing import OUTSTANDING, AttemptStatus, RingAttempt
from notify import task_alerts, triggers
from routing import ringing
from tickets import events, ownership
from tickets.calls import events_of, record_event
from tickets.outcome import set_call_outcome

HOLD_MESSAGE_EVERY_SECONDS = 20
HOLD_PAUSE_SECONDS = 15


def engineer_answered(session: Session, attempt: RingAttempt | None, now: datetime) -> Step:
    """The engineer picked up: who is calling, and press 1 to accept."""
    if attempt is None:
        return Goodbye(prompts.WHISPER_TAKEN)
    call = attempt.call
    if call.ended_at is not None or call.state is CallState.ENDED:
        return Goodbye(prompts.CALLER_GONE)
    if (
        call.state is not CallState.RINGING
        or call.accepted_attempt_id is not None
        or attempt.status not in OUTSTANDING
    ):
        return Goodbye(prompts.WHISPER_TAKEN)
    if attempt.status is not AttemptStatus.ANSWERED:
        attempt.status = AttemptStatus.ANSWERED
        attempt.answered_at = now
    ticket = call.ticket
    company = ticket.account.name if ticket.account else "an unknown caller"
    # Short: the ticket and its details reach the engineer by SMS when they accept.
    return Whisper(prompts.WHISPER.format(company=company), attempt.id)


def engineer_pressed(
    session: Session, attempt: RingAttempt | None, keys: str, now: datetime
) -> Step | Then:
    """1 takes the caller (if nobody else has); 2 or nothing passes to the next engineer."""
    if attempt is None:
        return Goodbye(prompts.WHISPER_TAKEN)
    call = attempt.call
    ringing.lock(session, call)
    if call.ended_at is not None or call.state is CallState.ENDED:
        return Goodbye(prompts.CALLER_GONE)
    if (
        keys[:1] == "1"
        and call.state is CallState.CONNECTED
        and call.accepted_attempt_id == attempt.id
    ):
        # This engineer's accept was committed but its answer was lost (the fallback asks
        # again): connect them, with nothing recorded or sent a second time.
        return ConnectEngineer(call.id, call.language)
    if call.state is not CallState.RINGING or attempt.status not in OUTSTANDING:
        return Goodbye(prompts.WHISPER_TAKEN)
    key = keys[:1]
    if key == "1":
        # Only a leg that was answered and heard the whisper can take the caller.
        if attempt.status is not AttemptStatus.ANSWERED:
            return Goodbye(prompts.WHISPER_TAKEN)
        if not ringing.claim(session, call, attempt, now):
            return Goodbye(prompts.WHISPER_TAKEN)
        return Then(ConnectEngineer(call.id, call.language), _accepted(session, call, attempt, now))
    outcome = AttemptStatus.PASSED if key else AttemptStatus.VOICEMAIL
    ringing.end_attempt(session, call, attempt, outcome, now)
    progress = ringing.advance(session, call, now)
    text = prompts.WHISPER_PASSED if key else prompts.WHISPER_NO_KEY
    return Then(Goodbye(text), progress)


def _accepted(
    session: Session, call: Call, attempt: RingAttempt, now: datetime
) -> ringing.Progress:
    accepted = events.Accepted(
        engineer=attempt.phone,
        engineer_name=attempt.engineer_name,
        seconds=ringing.seconds_ringing(attempt),
    )
    record_event(session, call, accepted, now)
    call.answered_by = attempt.engineer_name or attempt.phone
    call.connected_at = now
    set_call_outcome(call, CallOutcome.CONNECTED, now)
    # Who accepts owns it: the ticket is theirs, acknowledged, whoever had it before.
    engineer = ownership.engineer_actor(session, attempt.engineer_id, attempt.engineer_name)
    ownership.take(session, call.ticket, engineer, now)
    triggers.engineer_accepted(session, call, attempt.phone, attempt.engineer_name, now)
    return ringing.others_to_cancel(session, call, attempt, now)


def leg_status_matters(status: CallStatus) -> bool:
    """True for the leg statuses that can change an attempt (ringing, answered, ended); the
    others (queued, initiated, unknown) are answered without touching the database."""
    return status in (CallStatus.RINGING, CallStatus.IN_PROGRESS) or status.final


def engineer_leg_status(
    session: Session, attempt: RingAttempt | None, status: CallStatus, now: datetime
) -> ringing.Progress:
    """An engineer leg's status callback; when it ends a step, escalate."""
    if attempt is None:
        return ringing.Progress()
    call = attempt.call
    ringing.lock(session, call)
    if call.state is not CallState.RINGING:
        return ringing.Progress()
    if not ringing.record_leg_status(session, call, attempt, status, now):
        return ringing.Progress()
    return ringing.advance(session, call, now)


def hold(session: Session, call: Call, queue_seconds: int, now: datetime) -> Step | Then:
    """One turn of the caller's hold loop: escalate when due, say something new each turn."""
    progress = ringing.advance(session, call, now)
    if progress.exhausted:
        # Leaving the queue runs the Enqueue action, which takes the message.
        return Then(LeaveQueue(), ringing.Progress(place=progress.place, cancel=progress.cancel))
    say = hold_message(session, call, queue_seconds)
    pause = HOLD_PAUSE_SECONDS if not say else max(5, HOLD_MESSAGE_EVERY_SECONDS - _spoken(say))
    return Then(HoldMusic(say, pause, call.id, offer_message=True), progress)


def _spoken(text: str) -> int:
    """Seconds `text` takes to say at 150 words a minute (how long a turn's words last)."""
    return round(len(text.split()) * 60 / 150)


def hold_message(session: Session, call: Call, queue_seconds: int) -> str:
    """What this ~20 s turn of the hold says, in turn: time waited and engineers rung; the
    ticket number; that we are still trying; the last two with the option of a message and a
    callback instead (nothing on the first turn, just after "connecting you")."""
    if queue_seconds < HOLD_MESSAGE_EVERY_SECONDS - HOLD_PAUSE_SECONDS:
        return ""
    p = prompts_of(call)
    turn = round((queue_seconds - HOLD_PAUSE_SECONDS) / HOLD_MESSAGE_EVERY_SECONDS)
    match turn % 3:
        case 0:
            count = _engineers_ringing(session, call)
            engineers = p.ONE_ENGINEER if count == 1 else p.ENGINEERS.format(count=count)
            return p.HOLD_WAITED.format(waited=_waited(p, queue_seconds), engineers=engineers)
        case 1:
            ticket = p.HOLD_TICKET.format(ticket=prompts.spoken_ticket(call.ticket_id))
            return f"{ticket} {p.HOLD_OFFER_MESSAGE}"
        case _:
            return f"{p.STILL_TRYING} {p.HOLD_OFFER_MESSAGE}"


def _waited(p: Prompts, seconds: int) -> str:
    if seconds < 60:
        return p.SECONDS.format(count=seconds)
    minutes = round(seconds / 60)
    return p.ONE_MINUTE if minutes == 1 else p.MINUTES.format(count=minutes)


def _engineers_ringing(session: Session, call: Call) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(RingAttempt)
        .where(RingAttempt.call_id == call.id, RingAttempt.status.in_(OUTSTANDING))
    )
    return max(1, count or 0)


def hold_key(session: Session, call: Call, keys: str, now: datetime, waited: int) -> Step | Then:
    """A key pressed on hold: 1 stops the ringing and takes a message, with a callback task."""
    if keys[:1] != "1":
        return HoldMusic("", HOLD_PAUSE_SECONDS, call.id, offer_message=True)
    progress = ringing.cancel_all(session, call, now)
    record_event(session, call, events.HoldMessageChosen(waited=waited), now)
    task_alerts.callback_promised(
        session, call, "the caller chose a message on hold", now, current_settings()
    )
    # Leaving the queue runs the Enqueue action, which finds the call waiting for a message.
    call.state = CallState.MESSAGE
    return Then(LeaveQueue(), progress)


def queue_done(
    session: Session, call: Call, result: QueueResult, now: datetime
) -> Step | Unchanged:
    """The caller left the hold queue: after talking, by hanging up, because nobody came, or
    to leave a message."""
    if call.state is CallState.MESSAGE:
        p = prompts_of(call)
        promised = bool(events_of(session, call, events.CallbackTask))
        minutes = current_settings().callback_due_minutes
        promise = p.CALLBACK_PROMISE.format(minutes=minutes) if promised else ""
        return TakeMessage(" ".join(part for part in (promise, p.LEAVE_MESSAGE) if part))
    if call.state is CallState.CONNECTED or call.accepted_attempt_id is not None:
        record_event(session, call, events.HoldEnded(result=result.value), now)
        call.state = CallState.FINISHED
        return Goodbye(prompts_of(call).THANKS_GOODBYE)
    if result is QueueResult.HANGUP:
        return Unchanged(Silence())  # the status callback records the end of the call
    if not ringing.is_exhausted(call):
        # Out of the queue while engineers are still being rung (or a forged request):
        # back on hold, nobody alerted.
        return Unchanged(HoldForEngineers(call.id, announce=False))
    record_event(session, call, events.HoldEnded(result=result.value), now)
    return nobody_answered(session, call, now)


def no_engineer(session: Session, call: Call, now: datetime) -> Step | Unchanged:
    """The dialer found every engineer tried: take a message, alert once; else keep holding."""
    if not ringing.is_exhausted(call):
        return Unchanged(HoldForEngineers(call.id, announce=False))
    return nobody_answered(session, call, now)
