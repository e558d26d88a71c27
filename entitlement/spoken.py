"""Dates and times in the words a caller hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Spelled out rather than strftime("%B") so the words never depend on the server's locale.
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def spoken_date(moment: datetime) -> str:
    """A date as a caller would say it, e.g. '3 March 2026' (UTC)."""
    day = moment.astimezone(UTC)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def spoken_wait(delay: timedelta) -> str:
    """A wait in whole minutes, rounded up, e.g. '1 minute', '42 minutes'."""
    minutes = max(1, -(-int(delay.total_seconds()) // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
