"""Instants as people read them: on the wall clock of the viewer's (or another) time zone.

Every time on a dashboard page is shown in the signed-in user's zone, with the zone's
abbreviation beside it; CSV and the API keep ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import g, has_request_context

DEFAULT_ZONE = "UTC"


def valid_zone(name: str | None) -> str | None:
    """`name` when it is an IANA zone this system knows, else None."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    """Every zone name a user may choose, sorted."""
    return sorted(available_timezones() | {DEFAULT_ZONE})


def viewer_zone() -> str:
    """The signed-in user's zone name (UTC when they have none or outside a request)."""
    if not has_request_context():
        return DEFAULT_ZONE
    user = g.get("user")
    return valid_zone(getattr(user, "time_zone", None)) or DEFAULT_ZONE


def _tz(zone: str | None) -> tzinfo:
    name = valid_zone(zone) if zone else viewer_zone()
    # An engineer row with a bad zone name must not break the page: fall back to UTC.
    return ZoneInfo(name) if name else UTC


def in_zone(moment: datetime | None, zone: str | None = None) -> str:
    """'Mon 09 Mar 09:00 EDT' in `zone` (the viewer's when not given); '—' for None."""
    if moment is None:
        return "—"
    local = moment.astimezone(_tz(zone))
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def local_time(moment: datetime | None, style: str = "full") -> str:
    """An instant in the viewer's zone: full '2026-03-02 10:00:05 CET', or just 'time'."""
    if moment is None:
        return "—"
    local = moment.astimezone(_tz(None))
    if style == "time":
        return f"{local:%H:%M:%S}"
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


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
