"""A ticket's SLA state from its tasks, and the list's SLA filter agreeing with it in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Task, TaskKind, TaskStage, TaskState, Ticket
from tickets.sla import SlaState, sla_clause, summarize

NOW = datetime.fromisoformat("2026-03-02T10:00:00+00:00")
S = TaskState


def task(
    state: TaskState,
    remind_in: int,
    due_in: int,
    done_after_due: int | None = None,
) -> Task:
    """A task whose reminder and due time are `remind_in` and `due_in` minutes from NOW."""
    due_at = NOW + timedelta(minutes=due_in)
    done_at = None if done_after_due is None else due_at + timedelta(minutes=done_after_due)
    return Task(
        kind=TaskKind.CALLBACK,
        state=state,
        stage=TaskStage.NOTIFIED,
        title="Call back",
        created_at=NOW - timedelta(minutes=60),
        remind_at=NOW + timedelta(minutes=remind_in),
        due_at=due_at,
        done_at=done_at,
        callback_attempts=0,
    )


CASES = [
    ("nothing promised", [], SlaState.NONE),
    ("open, before the reminder", [task(S.OPEN, 5, 20)], SlaState.ON_TRACK),
    ("nobody acknowledged by the reminder", [task(S.OPEN, -5, 20)], SlaState.AT_RISK),
    ("acknowledged after the reminder", [task(S.ACKNOWLEDGED, -5, 20)], SlaState.ON_TRACK),
    ("open past due", [task(S.ACKNOWLEDGED, -20, -1)], SlaState.BREACHED),
    ("one kept, one past due", [task(S.DONE, -20, -5, -1), task(S.OPEN, -9, -1)], "breached"),
    ("kept in time", [task(S.DONE, -20, -5, done_after_due=-1)], SlaState.MET),
    ("kept after its due time", [task(S.DONE, -20, -5, done_after_due=3)], SlaState.LATE),
    ("one late, one open", [task(S.DONE, -20, -5, 3), task(S.OPEN, 5, 20)], SlaState.ON_TRACK),
]


@pytest.mark.parametrize(("tasks", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_sla_state_says_how_the_promises_stand(
    tasks: list[Task], expected: SlaState | str
) -> None:
    summary = summarize(tasks, NOW)
    assert summary.state is SlaState(expected)
    assert summary.open_tasks == sum(t.state is not TaskState.DONE for t in tasks)


def test_the_next_due_time_is_the_earliest_open_promise() -> None:
    later, sooner, kept = task(S.OPEN, 5, 60), task(S.OPEN, 5, 20), task(S.DONE, -30, -10, -1)
    assert summarize([later, sooner, kept], NOW).next_due_at == sooner.due_at
    assert summarize([kept], NOW).next_due_at is None


def test_the_list_filter_finds_exactly_the_tickets_in_each_state(session: Session) -> None:
    expected: dict[int, SlaState] = {}
    for _name, tasks, state in CASES:
        ticket = Ticket(subject=_name)
        session.add(ticket)
        session.flush()
        for one in tasks:
            session.add(_copy(one, ticket.id))
        expected[ticket.id] = SlaState(state)
    session.flush()
    for state in SlaState:
        found = set(session.scalars(select(Ticket.id).where(sla_clause(state, NOW))))
        assert found == {tid for tid, s in expected.items() if s is state}, state


def _copy(one: Task, ticket_id: int) -> Task:
    """A fresh row for the ticket (the parametrized tasks are shared across tests)."""
    return Task(
        ticket_id=ticket_id,
        kind=one.kind,
        state=one.state,
        stage=one.stage,
        title=one.title,
        created_at=one.created_at,
        remind_at=one.remind_at,
        due_at=one.due_at,
        done_at=one.done_at,
        callback_attempts=0,
    )
