"""The numbers managers trust: calls per day, severity-1 response, refusals, PIN and SMS health."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dashboard.security import manager_required
from dashboard.timeline import format_seconds
from dashboard.web import page_blueprint
from kernel.db import get_session
from models import (
    Call,
    CallEvent,
    CallOutcome,
    Notification,
    NotificationStatus,
    PinAttempt,
    PinOutcome,
    Ticket,
    TicketOutcome,
    utcnow,
)
from tickets.events import EventKind

bp = page_blueprint("dashboard_metrics", __name__, url_prefix="/dashboard")

# A notification not sent within this long after it was written counts as late.
LATE_AFTER = timedelta(minutes=5)


@dataclass
class Metrics:
    """Every figure on the metrics page, over `days` days ending `now`."""

    days: int
    # The first day the ticket figures count (tickets created from its midnight, UTC): the
    # ticket list filtered `from` this day shows exactly the tickets behind each figure.
    first_day: date | None = None
    calls_per_day: list[tuple[date, int]] = field(default_factory=list)
    sev1_calls: int = 0
    sev1_connect_median: float | None = None
    sev1_connect_p90: float | None = None
    sev1_unaccepted: int = 0
    refused_by_reason: list[tuple[str, int]] = field(default_factory=list)
    pin_failures: list[tuple[str, int]] = field(default_factory=list)
    notifications_dead: int = 0
    notifications_late: int = 0

    @property
    def sev1_unaccepted_share(self) -> float | None:
        """Share of severity-1 calls no engineer accepted, or None with no such calls."""
        return self.sev1_unaccepted / self.sev1_calls if self.sev1_calls else None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 100) * len(ordered) // 100))
    return ordered[min(rank, len(ordered)) - 1]


def compute_metrics(session: Session, now: datetime, days: int = 30) -> Metrics:
    """Compute the metrics page's figures from calls, events, PIN attempts and the outbox."""
    since = now - timedelta(days=days)
    metrics = Metrics(days=days)

    counts: dict[date, int] = {}
    for (started,) in session.execute(select(Call.started_at).where(Call.started_at >= since)):
        counts[started.date()] = counts.get(started.date(), 0) + 1
    first_day = since.date() + timedelta(days=1)
    metrics.first_day = first_day
    metrics.calls_per_day = [
        (first_day + timedelta(days=i), counts.get(first_day + timedelta(days=i), 0))
        for i in range(days)
    ]

    since = datetime.combine(first_day, time(), UTC)
    sev1 = session.execute(
        select(Ticket.id, Ticket.created_at).where(Ticket.severity == 1, Ticket.created_at >= since)
    ).all()
    metrics.sev1_calls = len(sev1)
    starts = {ticket_id: created for ticket_id, created in sev1}
    call_starts = session.execute(
        select(Call.ticket_id, func.min(Call.started_at))
        .where(
            Call.ticket_id.in_(
                select(Ticket.id).where(Ticket.severity == 1, Ticket.created_at >= since)
            )
        )
        .group_by(Call.ticket_id)
    ).all()
    starts.update(dict(call_starts))
    # Connected is the moment an engineer pressed 1 and was given the caller (the accepted
    # event written by the same transaction that wins the call), the first on each ticket.
    connected: dict[int, datetime] = {
        ticket_id: at
        for ticket_id, at in session.execute(
            select(CallEvent.ticket_id, func.min(CallEvent.at))
            .where(
                CallEvent.kind == EventKind.ACCEPTED.value,
                CallEvent.ticket_id.in_(
                    select(Ticket.id).where(Ticket.severity == 1, Ticket.created_at >= since)
                ),
            )
            .group_by(CallEvent.ticket_id)
        )
    }
    waits = [
        (at - starts[ticket_id]).total_seconds()
        for ticket_id, at in connected.items()
        if ticket_id in starts
    ]
    metrics.sev1_connect_median = statistics.median(waits) if waits else None
    metrics.sev1_connect_p90 = percentile(waits, 0.9)
    # Nobody accepted: no call of the ticket was connected (the list's answered=no).
    answered = select(Call.ticket_id).where(Call.outcome == CallOutcome.CONNECTED)
    metrics.sev1_unaccepted = (
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.severity == 1, Ticket.created_at >= since, Ticket.id.not_in(answered))
        )
        or 0
    )

    metrics.refused_by_reason = [
        (reason or "no reason recorded", count)
        for reason, count in session.execute(
            select(Ticket.refusal_reason, func.count())
            .where(Ticket.outcome == TicketOutcome.REFUSED, Ticket.created_at >= since)
            .group_by(Ticket.refusal_reason)
            .order_by(func.count().desc())
        )
    ]
    metrics.pin_failures = [
        (outcome.value, count)
        for outcome, count in session.execute(
            select(PinAttempt.outcome, func.count())
            .where(PinAttempt.outcome != PinOutcome.OK, PinAttempt.at >= since)
            .group_by(PinAttempt.outcome)
            .order_by(func.count().desc())
        )
    ]
    metrics.notifications_dead = (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status == NotificationStatus.DEAD, Notification.created_at >= since)
        )
        or 0
    )
    late = 0
    unsent = (NotificationStatus.PENDING, NotificationStatus.ENQUEUED, NotificationStatus.FAILED)
    for created, sent, status in session.execute(
        select(Notification.created_at, Notification.sent_at, Notification.status).where(
            Notification.created_at >= since,
            or_(Notification.sent_at.is_not(None), Notification.status.in_(unsent)),
        )
    ):
        done = sent if sent is not None else (now if status in unsent else None)
        if done is not None and done - created > LATE_AFTER:
            late += 1
    metrics.notifications_late = late
    return metrics


def ticket_links(figures: Metrics) -> dict[str, dict[str, Any]]:
    """The ticket-list filters behind each figure (query-string arguments)."""
    since = {"from": figures.first_day.isoformat()} if figures.first_day else {}
    return {
        "sev1": {"severity": 1, **since},
        "sev1_connected": {"severity": 1, "answered": "yes", **since},
        "sev1_unaccepted": {"severity": 1, "answered": "no", **since},
        "sev1_missed": {"severity": 1, "outcome": "missed", **since},
        "refused": {"outcome": "refused", **since},
        "calls": dict(since),
    }


def bar_chart(
    points: list[tuple[Any, int]],
    width: int = 720,
    height: int = 160,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Geometry of an SVG bar chart for `points` (label, value), drawn by the template; each
    bar may carry the ticket-list arguments (`links`) of the tickets behind it."""
    top = max((value for _, value in points), default=0) or 1
    gap = 2
    bar = max(1.0, (width - gap * len(points)) / max(1, len(points)))
    bars = []
    for index, (label, value) in enumerate(points):
        h = (height - 20) * value / top
        bars.append(
            {
                "x": round(index * (bar + gap), 1),
                "y": round(height - 20 - h, 1),
                "w": round(bar, 1),
                "h": round(h, 1),
                "label": str(label),
                "value": value,
                "link": links[index] if links else None,
            }
        )
    return {"width": width, "height": height, "bars": bars, "top": top}


@bp.get("/metrics")
@manager_required
def metrics() -> str:
    """Charts and figures over the last 7, 30 or 90 days."""
    days = request.args.get("days", "30")
    span = int(days) if days in ("7", "30", "90") else 30
    figures = compute_metrics(get_session(), utcnow(), span)
    return render_template(
        "dashboard/metrics.html",
        m=figures,
        links=ticket_links(figures),
        calls_chart=bar_chart(
            [(d.strftime("%d %b"), n) for d, n in figures.calls_per_day],
            links=[{"from": d.isoformat(), "to": d.isoformat()} for d, _ in figures.calls_per_day],
        ),
        fmt=format_seconds,
    )
