"""Instants as people read them: in UTC, or on the wall clock of a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def in_zone(moment: datetime | None, zone: str | None = None) -> str:
    """'Mon 09 Mar 09:00 EDT' in `zone` (UTC when not given or unknown); '—' for None."""
    if moment is None:
        return "—"
    try:
        tz = ZoneInfo(zone) if zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        # An engineer row with a bad zone name must not break the page: fall back to UTC.
        tz = UTC
    local = moment.astimezone(tz)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def span(length: timedelta) -> str:
    """A shift's length: '7 days', '1 day 12 h', '12 h'."""
    hours = round(length.total_seconds() / 3600)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours or not days:
        parts.append(f"{hours} h")
    return " ".join(parts)
