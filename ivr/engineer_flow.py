"""The engineer's side of a severity-1 call, and the caller's hold loop while engineers ring."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ivr import prompts
from ivr.flow import nobody_answered
from ivr.steps import (
    ConnectEngineer,
    Goodbye,
    HoldForEngineers,
    HoldMusic,
    LeaveQueue,
    Silence,
    Step,
    Then,
    Unchanged,
    Whisper,
)
from kernel.twilio_fields import CallStatus, QueueResult
from models import Call, CallOutcome, CallState
from models.ringing import OUTSTANDING, AttemptStatus, RingAttempt
from notify import triggers
from routing import ringing
from tickets import events, ownership
from tickets.calls import record_event
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
    text = prompts.WHISPER.format(company=company, ticket=prompts.spoken_ticket(ticket.id))
    return Whisper(text, attempt.id)


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
        return ConnectEngineer(call.id)
    if call.state is not CallState.RINGING or attempt.status not in OUTSTANDING:
        return Goodbye(prompts.WHISPER_TAKEN)
    key = keys[:1]
    if key == "1":
        # Only a leg that was answered and heard the whisper can take the caller.
        if attempt.status is not AttemptStatus.ANSWERED:
            return Goodbye(prompts.WHISPER_TAKEN)
        if not ringing.claim(session, call, attempt, now):
            return Goodbye(prompts.WHISPER_TAKEN)
        return Then(ConnectEngineer(call.id), _accepted(session, call, attempt, now))
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
    """One turn of the caller's hold loop: escalate when due, say where things stand."""
    progress = ringing.advance(session, call, now)
    if progress.exhausted:
        # Leaving the queue runs the Enqueue action, which takes the message.
        return Then(LeaveQueue(), ringing.Progress(place=progress.place, cancel=progress.cancel))
    say = queue_seconds >= HOLD_MESSAGE_EVERY_SECONDS - HOLD_PAUSE_SECONDS
    return Then(HoldMusic(say=say, pause_seconds=HOLD_PAUSE_SECONDS), progress)


def queue_done(
    session: Session, call: Call, result: QueueResult, now: datetime
) -> Step | Unchanged:
    """The caller left the hold queue: after talking, by hanging up, or because nobody came."""
    if call.state is CallState.CONNECTED or call.accepted_attempt_id is not None:
        record_event(session, call, events.HoldEnded(result=result.value), now)
        call.state = CallState.FINISHED
        return Goodbye(prompts.THANKS_GOODBYE)
    if result is QueueResult.HANGUP:
        return Unchanged(Silence())  # the status callback records the end of the call
    if not ringing.is_exhausted(call):
        # Out of the queue while engineers are still being rung (or a forged request):
        # back on hold, nobody alerted.
        return Unchanged(HoldForEngineers(call.id))
    record_event(session, call, events.HoldEnded(result=result.value), now)
    return nobody_answered(session, call, now)


def no_engineer(session: Session, call: Call, now: datetime) -> Step | Unchanged:
    """The dialer found every engineer tried: take a message, alert once; else keep holding."""
    if not ringing.is_exhausted(call):
        return Unchanged(HoldForEngineers(call.id))
    return nobody_answered(session, call, now)
