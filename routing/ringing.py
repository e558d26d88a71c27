"""Ringing engineers for one caller: steps, attempts, the atomic accept, and escalation.

Plain Python over a Session and `now`. The REST calls themselves are ivr.dialer's job,
made after the caller commits; this module only says which attempts to place or cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from kernel.twilio_fields import CallStatus
from models import Call, CallState
from models.ringing import OUTSTANDING, AttemptStatus, RingAttempt
from routing.ring_plan import RingPlan
from tickets import events
from tickets.calls import holds_lock, mark_locked, record_event

# After the ring timeout an engineer may still be hearing the whisper and deciding.
WHISPER_SLACK = timedelta(seconds=25)

# Twilio's final CallStatus values for an engineer leg, as attempt outcomes.
_FINAL_STATUS = {
    CallStatus.BUSY: AttemptStatus.BUSY,
    CallStatus.NO_ANSWER: AttemptStatus.NO_ANSWER,
    CallStatus.FAILED: AttemptStatus.FAILED,
    CallStatus.CANCELED: AttemptStatus.CANCELLED,
}


@dataclass(frozen=True)
class Progress:
    """What the dialer must do after a ringing decision, once the caller has committed."""

    place: tuple[int, ...] = ()
    cancel: tuple[int, ...] = ()
    exhausted: bool = False


def plan_of(call: Call) -> RingPlan:
    """The ring plan frozen on the call (empty before ringing started)."""
    return RingPlan.from_json(call.ring_plan)


def start(session: Session, call: Call, plan: RingPlan, now: datetime) -> Progress:
    """Begin ringing the first step of `plan` for the caller on `call`."""
    call.ring_plan = plan.to_json()
    call.ring_step = -1
    return _open_step(session, call, 0, now)


def _open_step(session: Session, call: Call, index: int, now: datetime) -> Progress:
    plan = plan_of(call).steps
    while index < len(plan) and not plan[index].targets:
        index += 1
    if index >= len(plan):
        call.ring_step = len(plan)
        return Progress(exhausted=True)
    step = plan[index]
    call.ring_step = index
    call.ring_step_started_at = now
    rows = [
        {
            "call_id": call.id,
            "step": index,
            "engineer_id": target.engineer_id,
            "engineer_name": target.name,
            "phone": target.phone,
            "ring_timeout_seconds": step.timeout,
            "created_at": now,
        }
        for target in step.targets
    ]
    # Written now, alone, for their ids (one INSERT ... RETURNING for the step): the call's own
    # changes wait for its one UPDATE at commit instead of being flushed here too. A Core
    # statement on the session's connection: only the ids are read, and the ORM's bulk insert
    # loading each attempt back as an object cost more CPU than the insert.
    ids = session.connection().scalars(_NEW_ATTEMPTS, rows)
    return Progress(place=tuple(ids))


_NEW_ATTEMPTS = insert(cast(Table, RingAttempt.__table__)).returning(
    RingAttempt.id, sort_by_parameter_order=True
)


def end_attempt(
    session: Session, call: Call, attempt: RingAttempt, status: AttemptStatus, now: datetime
) -> None:
    """Close an attempt with its outcome and put it on the ticket's timeline."""
    attempt.status = status
    attempt.ended_at = attempt.ended_at or now
    record_attempt(session, call, attempt, now)


def record_attempt(session: Session, call: Call, attempt: RingAttempt, now: datetime) -> None:
    """Put an attempt and how it ended on the ticket's timeline."""
    status = attempt.status
    rung = events.RingAttempt(
        engineer=attempt.phone,
        engineer_name=attempt.engineer_name,
        number=attempt.phone,
        result=status.value,
        step=attempt.step + 1,
        started=(attempt.ringing_at or attempt.created_at).isoformat(),
        ended=(attempt.ended_at or now).isoformat(),
        seconds=seconds_ringing(attempt),
    )
    record_event(session, call, rung, now)


def attempts_of(session: Session, call: Call, step: int | None = None) -> list[RingAttempt]:
    """The call's attempts, oldest first (only those of `step` when given)."""
    if step is None:
        return list(session.scalars(_ATTEMPTS, {"call": call.id}))
    return list(session.scalars(_STEP_ATTEMPTS, {"call": call.id, "step": step}))


# Built once, run with parameters: every hold turn reads the attempts, and building the query
# (and its cache key) cost a third of reading them.
_ATTEMPTS = (
    select(RingAttempt).where(RingAttempt.call_id == bindparam("call")).order_by(RingAttempt.id)
)
_STEP_ATTEMPTS = _ATTEMPTS.where(RingAttempt.step == bindparam("step"))


def lock(session: Session, call: Call) -> None:
    """Take the call's write lock, then re-read where its ringing stands.

    Every transaction that changes ringing takes it first, before touching any attempt, so
    two engineers' callbacks ending one step together can neither both open the next step
    nor each wait for the other to finish it.
    """
    if holds_lock(session, call.id):
        # Taken earlier in this transaction (the caller's own webhook, or a first lock): the
        # row can't have moved since, so neither a second lock nor a re-read is needed.
        return
    # A no-op UPDATE is a row lock on PostgreSQL and takes SQLite's single writer lock, so
    # one mechanism serialises these transactions on both; the refresh then reads fresh state.
    session.execute(update(Call).where(Call.id == call.id).values(ring_step=Call.ring_step))
    session.refresh(
        call, ["ring_step", "ring_step_started_at", "accepted_attempt_id", "ended_at", "state"]
    )
    mark_locked(session, call.id)


def is_ringing(call: Call) -> bool:
    """True while engineers are being rung and nobody has accepted."""
    return (
        call.state is CallState.RINGING
        and call.ring_step is not None
        and 0 <= call.ring_step < len(plan_of(call))
        and call.accepted_attempt_id is None
        and call.ended_at is None
    )


def is_exhausted(call: Call) -> bool:
    """True when every step of the call's plan was rung and nobody accepted."""
    return (
        call.ring_plan is not None
        and call.ring_step == len(plan_of(call))
        and call.accepted_attempt_id is None
    )


def advance(session: Session, call: Call, now: datetime) -> Progress:
    """Move to the next step when this one is over: all attempts ended, or its time is up."""
    lock(session, call)
    if not is_ringing(call):
        exhausted = call.accepted_attempt_id is None and call.ring_step == len(plan_of(call))
        return Progress(exhausted=exhausted)
    assert call.ring_step is not None and call.ring_step_started_at is not None
    current = attempts_of(session, call, call.ring_step)
    outstanding = [a for a in current if a.status in OUTSTANDING]
    timeout = timedelta(seconds=max((a.ring_timeout_seconds for a in current), default=20))
    overdue = now >= call.ring_step_started_at + timeout + WHISPER_SLACK
    if outstanding and not overdue:
        return Progress()
    # Phones still ringing past their time are given up on; the next step starts at once.
    for attempt in outstanding:
        end_attempt(session, call, attempt, AttemptStatus.NO_ANSWER, now)
    following = _open_step(session, call, call.ring_step + 1, now)
    return Progress(
        place=following.place,
        cancel=tuple(a.id for a in outstanding if a.leg_sid),
        exhausted=following.exhausted,
    )


def claim(session: Session, call: Call, attempt: RingAttempt, now: datetime) -> bool:
    """Give the caller to `attempt`; exactly one attempt of a call can ever win."""
    # One conditional UPDATE: two engineers pressing 1 together can't both see "nobody yet",
    # and only a call still ringing (never one that left for a message) can be taken.
    result = session.execute(
        update(Call)
        .where(
            Call.id == call.id,
            Call.state == CallState.RINGING,
            Call.accepted_attempt_id.is_(None),
            Call.ended_at.is_(None),
        )
        .values(accepted_attempt_id=attempt.id, state=CallState.CONNECTED)
        .execution_options(synchronize_session=False)
    )
    won = cast(CursorResult[Any], result).rowcount == 1
    if won:
        session.refresh(call, ["accepted_attempt_id", "state"])
        attempt.status = AttemptStatus.ACCEPTED
        attempt.answered_at = attempt.answered_at or now
        record_attempt(session, call, attempt, now)
    return won


def others_to_cancel(session: Session, call: Call, winner: RingAttempt, now: datetime) -> Progress:
    """Every other outstanding attempt of the call: marked cancelled, to be hung up."""
    cancelled = [
        a for a in attempts_of(session, call) if a.id != winner.id and a.status in OUTSTANDING
    ]
    for attempt in cancelled:
        end_attempt(session, call, attempt, AttemptStatus.CANCELLED, now)
    return Progress(cancel=tuple(a.id for a in cancelled if a.leg_sid))


def cancel_all(session: Session, call: Call, now: datetime) -> Progress:
    """The caller is gone: stop every outstanding attempt."""
    outstanding = [a for a in attempts_of(session, call) if a.status in OUTSTANDING]
    for attempt in outstanding:
        end_attempt(session, call, attempt, AttemptStatus.CANCELLED, now)
    return Progress(cancel=tuple(a.id for a in outstanding if a.leg_sid))


def record_leg_status(
    session: Session, call: Call, attempt: RingAttempt, status: CallStatus, now: datetime
) -> bool:
    """Apply an engineer leg's status callback; True when it ended the attempt just now."""
    if status is CallStatus.RINGING and attempt.status is AttemptStatus.QUEUED:
        attempt.status = AttemptStatus.RINGING
        attempt.ringing_at = now
        call.first_ring_at = call.first_ring_at or now
        return False
    if status is CallStatus.IN_PROGRESS and attempt.status in (
        AttemptStatus.QUEUED,
        AttemptStatus.RINGING,
    ):
        attempt.status = AttemptStatus.ANSWERED
        attempt.answered_at = now
        # A phone that answered without a ringing callback first rang by now at the latest.
        call.first_ring_at = call.first_ring_at or now
        return False
    if not status.final or attempt.status not in OUTSTANDING:
        # Callbacks repeat and cross: the first final word on an attempt stands.
        return False
    if attempt.status is AttemptStatus.ANSWERED:
        # Answered, heard the whisper, pressed nothing: a voicemail box, or nobody there.
        outcome = AttemptStatus.VOICEMAIL
    else:
        outcome = _FINAL_STATUS.get(status, AttemptStatus.NO_ANSWER)
    end_attempt(session, call, attempt, outcome, now)
    return True


def seconds_ringing(attempt: RingAttempt) -> int | None:
    """How long the phone rang (or the leg lasted), in whole seconds."""
    start = attempt.ringing_at or attempt.created_at
    end = attempt.answered_at or attempt.ended_at
    return None if end is None else max(0, round((end - start).total_seconds()))


def plan_phones(call: Call) -> list[str]:
    """Every engineer phone the call's plan would ring, once each, in order."""
    return plan_of(call).phones()
