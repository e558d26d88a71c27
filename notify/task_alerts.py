"""Tasks for the promises the call flow makes, and the texts their timers send.

A task is made in the transaction of the step that makes the promise, with the on-call
engineer's SMS beside it in the outbox. Its later timers run in the relay (`fire_due`): the
reminder escalates to the policy's next level when nobody acknowledged it, the due time alerts
managers. One mechanism only: the task rows' due times, swept by the relay loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Settings
from kernel.phones import caller_e164
from models import Call, NotificationChannel, Task, TaskKind, TaskStage, TaskState, Ticket
from notify import languages
from notify.humantime import human_time, zone
from notify.outbox import MANAGERS, add_notification
from routing.store import plan_for_product
from tickets import tasks
from tickets.calls import record_event, record_ticket_event
from tickets.events import CallbackTask, TaskEscalated, TaskOverdue


def callback_promised(
    session: Session, call: Call, reason: str, now: datetime, settings: Settings
) -> Task | None:
    """The caller was told an engineer will call back: a task due in CALLBACK_DUE_MINUTES."""
    minutes = settings.callback_due_minutes
    return _open(
        session, call, TaskKind.CALLBACK, f"call back within {minutes} minutes", reason,
        timedelta(minutes=minutes), now, settings,
    )  # fmt: skip


def unverified_callback(
    session: Session, call: Call, reason: str, now: datetime, settings: Settings
) -> Task | None:
    """A caller without a PIN whom nobody registered could vouch for: call them back soon."""
    minutes = settings.callback_due_minutes
    return _open(
        session, call, TaskKind.CALLBACK, f"call back a caller without a PIN within {minutes} "
        "minutes (check who they are first)", reason, timedelta(minutes=minutes), now, settings,
    )  # fmt: skip


def message_left(session: Session, call: Call, now: datetime, settings: Settings) -> Task | None:
    """A message was left: a task to respond within the severity's target."""
    severity = call.ticket.severity
    minutes = settings.target_minutes(severity)
    title = f"respond to a severity-{severity} message" if severity else "respond to a message"
    return _open(
        session, call, TaskKind.RESPOND, title,
        "a message was left", timedelta(minutes=minutes), now, settings,
    )  # fmt: skip


def _open(
    session: Session,
    call: Call,
    kind: TaskKind,
    title: str,
    reason: str,
    due_in: timedelta,
    now: datetime,
    settings: Settings,
) -> Task | None:
    ticket = call.ticket
    number = ticket.contact_phone or call.from_number
    task = tasks.open_task(
        session,
        ticket,
        call,
        kind,
        title,
        caller_e164(number, settings.home_region),
        due_in,
        timedelta(minutes=settings.task_reminder_minutes),
        now,
    )
    if task is None:
        return None
    record_event(session, call, CallbackTask(reason=f"{title}: {reason}"), now)
    spoken = languages.spoken_by_caller(call.language)
    for phone in on_call_phones(session, task, now, settings):
        _text(session, task, "task_opened", phone, "opened", now, settings, caller_language=spoken)
    return task


def on_call_phones(session: Session, task: Task, now: datetime, settings: Settings) -> list[str]:
    """The phones a new task texts at once: the first level of its product's policy now."""
    return _level_phones(session, task, now, settings, level_index=0)


def fire_due(session: Session, now: datetime, settings: Settings) -> int:
    """Run every task timer that has come due (each exactly once); the number fired."""
    fired = 0
    for task in tasks.due_timers(session, now):
        stage = tasks.claim_timer(session, task)
        if stage is TaskStage.ESCALATED:
            fired += 1
            if task.state is TaskState.OPEN:
                phones = _level_phones(session, task, now, settings, level_index=1)
                spoken = _caller_language(session, task)
                for phone in phones:
                    _text(session, task, "task_escalated", phone, "escalated", now, settings,
                          caller_language=spoken)  # fmt: skip
                record_ticket_event(
                    session,
                    task.ticket_id,
                    TaskEscalated(task_id=task.id, notified=len(phones)),
                    now,
                )
        elif stage is TaskStage.OVERDUE:
            fired += 1
            for channel in (NotificationChannel.SMS, NotificationChannel.EMAIL):
                _text(session, task, "task_overdue", MANAGERS, f"overdue-{channel.value}", now,
                      settings, channel)  # fmt: skip
            record_ticket_event(session, task.ticket_id, TaskOverdue(task_id=task.id), now)
    return fired


def _level_phones(
    session: Session, task: Task, now: datetime, settings: Settings, level_index: int
) -> list[str]:
    """Phones of the engineers at a level of the policy now (the last level when past the end)."""
    steps = [s for s in plan_for_product(session, task.product_id, now) if s.round == 0]
    levels = sorted({s.level for s in steps})
    if not levels:
        return [settings.oncall_number] if settings.oncall_number else []
    level = levels[min(level_index, len(levels) - 1)]
    phones = [r.phone for s in steps if s.level == level for r in s.responders if r.phone]
    return list(dict.fromkeys(phones))


def _text(
    session: Session,
    task: Task,
    kind: str,
    recipient: str,
    suffix: str,
    now: datetime,
    settings: Settings,
    channel: NotificationChannel = NotificationChannel.SMS,
    caller_language: str | None = None,
) -> None:
    add_notification(
        session,
        kind=kind,
        channel=channel,
        recipient=recipient,
        payload=_context(task, task.ticket, settings, caller_language),
        now=now,
        dedupe_key=f"task-{task.id}-{suffix}-{recipient}"[:200],
        ticket_id=task.ticket_id,
    )


def _caller_language(session: Session, task: Task) -> str | None:
    """The language the task's caller spoke, for the engineer who calls back (None: English)."""
    if task.call_id is None:
        return None
    return languages.spoken_by_caller(
        session.scalar(select(Call.language).where(Call.id == task.call_id))
    )


def _context(
    task: Task, ticket: Ticket, settings: Settings, caller_language: str | None = None
) -> dict[str, Any]:
    hotline = zone(settings.hotline_timezone)
    return {
        "caller_language": caller_language,
        "ticket": ticket.number,
        "ticket_url": f"{settings.public_base_url}/dashboard/tickets/{ticket.id}",
        "account": ticket.account.name if ticket.account else None,
        "contact_name": ticket.contact_name,
        "callback_number": task.callback_number,
        "title": task.title,
        "due_time": human_time(task.due_at, hotline),
        "acknowledged_by": task.acknowledged_by,
    }
