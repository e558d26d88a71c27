"""The severity-1 report: the last 7 days' severity-1 tickets on one printable page."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from dashboard.queries import TicketFigures, ticket_figures
from dashboard.security import manager_required
from dashboard.timefmt import DEFAULT_ZONE, viewer_zone
from dashboard.timeline import format_seconds
from dashboard.web import page_blueprint
from kernel.db import get_session
from models import Ticket, TicketOutcome, utcnow

bp = page_blueprint("dashboard_reports", __name__, url_prefix="/dashboard/reports")

REPORT_DAYS = 7
# A report lists every ticket; a week with more severity-1 tickets than this is summarised.
REPORT_LIMIT = 1000


@dataclass(frozen=True)
class Sev1Report:
    """The severity-1 tickets opened in [first_day, last_day] (days in `zone`) and their figures."""

    first_day: date
    last_day: date
    zone: str
    tickets: list[Ticket]
    figures: dict[int, TicketFigures]
    calls: int
    missed: int
    median_connect: float | None
    slowest_connect: int | None
    truncated: bool

    @property
    def days_args(self) -> dict[str, str]:
        """The ticket-list arguments naming the same days (so its counts match the report's)."""
        args = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        if self.zone != DEFAULT_ZONE:
            args["tz"] = self.zone
        return args


def sev1_report(
    session: Session, now: datetime, zone: str = DEFAULT_ZONE, days: int = REPORT_DAYS
) -> Sev1Report:
    """The last `days` days (today included) of severity-1 tickets, oldest first.

    Days are the viewer's: from midnight in `zone` six days before `now`'s date there, to the
    end of that date (a manager in Tokyo reading on Monday morning sees Tuesday to Monday in
    Tokyo, not a week cut at 09:00 their time).
    """
    tz = ZoneInfo(zone)
    last_day = now.astimezone(tz).date()
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(), tz).astimezone(UTC)
    until = datetime.combine(last_day + timedelta(days=1), time(), tz).astimezone(UTC)
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.severity == 1, Ticket.created_at >= since, Ticket.created_at < until)
            .options(joinedload(Ticket.account))
            .order_by(Ticket.created_at.asc(), Ticket.id.asc())
            .limit(REPORT_LIMIT + 1)
        )
    )
    truncated = len(tickets) > REPORT_LIMIT
    tickets = tickets[:REPORT_LIMIT]
    figures = ticket_figures(session, [t.id for t in tickets], now)
    connects = [f.seconds_to_connect for f in figures.values() if f.seconds_to_connect is not None]
    return Sev1Report(
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        tickets=tickets,
        figures=figures,
        calls=sum(f.calls for f in figures.values()),
        missed=sum(1 for t in tickets if t.outcome is TicketOutcome.MISSED),
        median_connect=statistics.median(connects) if connects else None,
        slowest_connect=max(connects) if connects else None,
        truncated=truncated,
    )


@bp.get("/severity-1")
@manager_required
def severity_1() -> str:
    """The last 7 days' severity-1 tickets: who answered, how fast, what was missed."""
    return render_template(
        "dashboard/report_sev1.html",
        report=sev1_report(get_session(), utcnow(), viewer_zone()),
        fmt=format_seconds,
    )
