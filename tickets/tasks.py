"""Promises on a ticket as Task rows: made with a due time, acknowledged, done; timers claimed once.

A task's timers are two instants: `remind_at` (not acknowledged by then: escalate) and `due_at`
(not done by then: overdue). `next_timer_at` is the next one still to run. The relay's sweep
finds tasks whose `next_timer_at` has passed and moves each to its next stage with one
conditional UPDATE on the stage it read: of two sweeps (or a sweep killed and restarted) exactly
one moves it, and the messages it queues share that transaction, so each timer fires once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from models import Call, Task, TaskKind, TaskStage, TaskState, Ticket
from tickets.calls import record_ticket_event
from tickets.events import TaskDone

OPEN_STATES = (TaskState.OPEN, TaskState.ACKNOWLEDGED)
# What follows each stage, and which of the task's instants starts it.
NEXT_STAGE = {TaskStage.NOTIFIED: TaskStage.ESCALATED, TaskStage.ESCALATED: TaskStage.OVERDUE}


def open_task(
    session: Session,
    ticket: Ticket,
    call: Call | None,
    kind: TaskKind,
    title: str,
    callback_number: str | None,
    due_in: timedelta,
    remind_in: timedelta,
    now: datetime,
) -> Task | None:
    """Make the task for a promise; None when this call already made one (one per call)."""
    if call is not None:
        existing = session.scalar(select(Task.id).where(Task.call_id == call.id).limit(1))
        if existing is not None:
            return None
    remind_at = now + min(remind_in, due_in / 2)
    task = Task(
        ticket_id=ticket.id,
        call_id=call.id if call is not None else None,
        kind=kind,
        state=TaskState.OPEN,
        stage=TaskStage.NOTIFIED,
        title=title[:300],
        callback_number=callback_number,
        product_id=ticket.product_id,
        created_at=now,
        remind_at=remind_at,
        due_at=now + due_in,
        next_timer_at=remind_at,
        callback_attempts=0,
    )
    session.add(task)
    session.flush()
    return task


def open_tasks(session: Session, ticket_id: int) -> list[Task]:
    """The ticket's tasks not done yet, oldest first."""
    return list(
        session.scalars(
            select(Task)
            .where(Task.ticket_id == ticket_id, Task.state.in_(OPEN_STATES))
            .order_by(Task.created_at, Task.id)
        )
    )


def acknowledge_task(session: Session, task: Task, by: str, now: datetime) -> bool:
    """Someone is on it: no escalation at the reminder time; False when not open."""
    moved = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state == TaskState.OPEN)
        .values(state=TaskState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by[:200])
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    return cast(CursorResult[Any], moved).rowcount == 1


def finish_task(session: Session, task: Task, by: str, resolution: str, now: datetime) -> bool:
    """Close the task (called back, or marked done); False when it was already done."""
    moved = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state.in_(OPEN_STATES))
        .values(
            state=TaskState.DONE,
            done_at=now,
            done_by=by[:200],
            resolution=resolution[:2000],
            next_timer_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if cast(CursorResult[Any], moved).rowcount != 1:
        return False
    record_ticket_event(
        session, task.ticket_id, TaskDone(task_id=task.id, by=by, resolution=resolution), now
    )
    return True


def due_timers(session: Session, now: datetime, limit: int = 100) -> list[Task]:
    """Open tasks whose next timer has passed, oldest first."""
    return list(
        session.scalars(
            select(Task)
            .where(Task.state.in_(OPEN_STATES), Task.next_timer_at <= now)
            .order_by(Task.next_timer_at, Task.id)
            .limit(limit)
        )
    )


def claim_timer(session: Session, task: Task) -> TaskStage | None:
    """Move the task to its next stage if no one else has; the stage entered, or None."""
    following = NEXT_STAGE.get(task.stage)
    if following is None:
        return None
    next_timer = task.due_at if following is TaskStage.ESCALATED else None
    moved = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.stage == task.stage, Task.state.in_(OPEN_STATES))
        .values(stage=following, next_timer_at=next_timer)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        return None
    session.refresh(task)
    return following


def begin_callback(session: Session, task: Task, by: str, now: datetime) -> bool:
    """Count a callback being placed for an open task (it counts as acknowledged); False if done."""
    moved = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state.in_(OPEN_STATES))
        .values(
            callback_attempts=Task.callback_attempts + 1,
            callback_call_sid=None,
            state=TaskState.ACKNOWLEDGED,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    if cast(CursorResult[Any], moved).rowcount != 1:
        return False
    if task.acknowledged_at is None:  # the UPDATE holds the row: nobody else writes these now
        task.acknowledged_at, task.acknowledged_by = now, by[:200]
    return True


def callback_leg(session: Session, task_id: int | None, call_sid: str | None) -> Task | None:
    """The open task a callback webhook speaks for: its leg, once known, must be this CallSid."""
    task = session.get(Task, task_id) if task_id is not None else None
    if task is None or task.state not in OPEN_STATES or task.callback_attempts == 0:
        return None
    if call_sid is None or task.callback_call_sid not in (None, call_sid):
        return None
    return task
