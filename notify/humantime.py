"""Dates and times as a customer or engineer reads them, on their own wall clock (never ISO)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notify import languages


def zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The time zone `name`, else `default`, else UTC (a bad name never stops a message)."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def human_datetime(moment: datetime, where: tzinfo, language: str | None = None) -> str:
    """'Saturday 5 December 2026 at 2:05 PM CET' on the wall clock of `where`, in `language`."""
    return languages.human_datetime(moment, where, language)


def human_time(moment: datetime, where: tzinfo, language: str | None = None) -> str:
    """'2:05 PM CET' on the wall clock of `where` (for texts about the next hour or so)."""
    return languages.human_time(moment, where, language)
