"""A ticket's SLA state, read from its tasks: every promise made to the customer is a task.

A ticket with no tasks promised nothing ("none"). While a task is not done the ticket is
"on_track", "at_risk" once a task nobody acknowledged is past its reminder time, and "breached"
once any task is past its due time. When every task is done it is "met" if each was done by its
due time and "late" if any was not. Waiting on the customer does not stop the clock: a callback
owed is owed whatever the ticket's status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import and_, exists, not_, select
from sqlalchemy.sql.elements import ColumnElement

from models import Task, TaskState, Ticket


class SlaState(str, Enum):
    NONE = "none"  # no promise on the ticket
    ON_TRACK = "on_track"  # promises open, none overdue
    AT_RISK = "at_risk"  # a promise nobody acknowledged is past its reminder time
    BREACHED = "breached"  # a promise is open past its due time
    MET = "met"  # every promise kept in time
    LATE = "late"  # every promise kept, at least one after its due time


@dataclass(frozen=True)
class SlaSummary:
    """How a ticket stands against its promises."""

    state: SlaState
    open_tasks: int
    next_due_at: datetime | None  # the earliest due time among the open tasks


def summarize(tasks: Iterable[Task], now: datetime) -> SlaSummary:
    """The SLA state of a ticket with these tasks at `now`."""
    tasks = list(tasks)
    still_open = [task for task in tasks if task.state is not TaskState.DONE]
    next_due = min((task.due_at for task in still_open), default=None)
    if still_open:
        if any(task.due_at <= now for task in still_open):
            state = SlaState.BREACHED
        elif any(t.state is TaskState.OPEN and t.remind_at <= now for t in still_open):
            state = SlaState.AT_RISK
        else:
            state = SlaState.ON_TRACK
    elif not tasks:
        state = SlaState.NONE
    elif any(t.done_at is not None and t.done_at > t.due_at for t in tasks):
        state = SlaState.LATE
    else:
        state = SlaState.MET
    return SlaSummary(state=state, open_tasks=len(still_open), next_due_at=next_due)


def _any_task(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Task.id).where(Task.ticket_id == Ticket.id, *conditions))


def sla_clause(state: SlaState, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause on tickets matching `state` at `now` (the same rules as `summarize`)."""
    is_open = Task.state != TaskState.DONE
    overdue = _any_task(is_open, Task.due_at <= now)
    unacknowledged_late = _any_task(Task.state == TaskState.OPEN, Task.remind_at <= now)
    any_open = _any_task(is_open)
    kept_late = _any_task(Task.done_at > Task.due_at)
    clauses = {
        SlaState.NONE: not_(_any_task()),
        SlaState.BREACHED: overdue,
        SlaState.AT_RISK: and_(unacknowledged_late, not_(overdue)),
        SlaState.ON_TRACK: and_(any_open, not_(overdue), not_(unacknowledged_late)),
        SlaState.LATE: and_(not_(any_open), kept_late),
        SlaState.MET: and_(_any_task(), not_(any_open), not_(kept_late)),
    }
    return clauses[state]
