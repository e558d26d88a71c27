"""Dates and times as a customer or engineer reads them, on their own wall clock (never ISO)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The time zone `name`, else `default`, else UTC (a bad name never stops a message)."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def human_datetime(moment: datetime, where: tzinfo) -> str:
    """'Saturday 5 December 2026 at 2:05 PM CET' on the wall clock of `where`."""
    local = moment.astimezone(where)
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%A} {local.day} {local:%B %Y} at {clock} {local.tzname()}"


def human_time(moment: datetime, where: tzinfo) -> str:
    """'2:05 PM CET' on the wall clock of `where` (for texts about the next hour or so)."""
    local = moment.astimezone(where)
    return f"{local.strftime('%I:%M %p').lstrip('0')} {local.tzname()}"
