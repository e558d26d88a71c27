"""Dates and times in the words a caller hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notify.languages import date_words


def spoken_date(moment: datetime, language: str | None = None) -> str:
    """A date as a caller would say it, e.g. '3 March 2026', '3. März 2026' (UTC)."""
    return date_words(moment, UTC, language)


def spoken_wait(delay: timedelta) -> str:
    """A wait in whole minutes, rounded up, e.g. '1 minute', '42 minutes'."""
    minutes = max(1, -(-int(delay.total_seconds()) // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
