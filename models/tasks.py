"""Promises on a ticket (call back, answer a message) with their timers, and who owned it when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.enums import TaskKind, TaskStage, TaskState, enum_column
from models.tickets import Ticket


class Task(Base):
    """One promise with a due time; the relay's sweep moves it through its stages."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_state_next_timer", "state", "next_timer_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    kind: Mapped[TaskKind] = mapped_column(enum_column(TaskKind))
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState), default=TaskState.OPEN)
    stage: Mapped[TaskStage] = mapped_column(enum_column(TaskStage), default=TaskStage.NOTIFIED)
    title: Mapped[str] = mapped_column(String(300))
    # The number to call back, E.164 (None when the caller withheld it).
    callback_number: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the sweep must next look at the task; None once no timer is left.
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str | None] = mapped_column(String(200))
    # How it was closed: "called back (CA...)" or the note given with "mark done".
    resolution: Mapped[str | None] = mapped_column(Text)
    # The outbound call a "Call back" button placed, and how many were placed.
    callback_call_sid: Mapped[str | None] = mapped_column(String(64))
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)

    ticket: Mapped[Ticket] = relationship()


class TicketAssignment(Base):
    """A change of a ticket's assignee: to whom, by whom, when."""

    __tablename__ = "ticket_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
