"""Severities, their response targets, and staff edits of a ticket's severity and category.

Severity 1 is a complete loss of service and is rung through at once. On the phone a caller
who is not down answers one follow-up: seriously degraded is severity 2, a question or minor
problem severity 3; a caller who answers nothing there gets severity 3 (staff can change it).
Severity 4 is set only by staff. A message of severity 2-4 is due a response within the
severity's target (SEVERITY_TARGET_MINUTES).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from models import Ticket
from notify import languages

SEVERITIES = (1, 2, 3, 4)
# What a caller who does not answer the follow-up question is recorded as.
SEVERITY_WITHOUT_ANSWER = 3
DEFAULT_TARGET_MINUTES = 4320


def target_minutes(targets: Mapping[int, int], severity: int | None) -> int:
    """The response target in minutes for a severity 2-4 message."""
    return targets.get(severity or SEVERITY_WITHOUT_ANSWER, DEFAULT_TARGET_MINUTES)


def set_response_due(
    ticket: Ticket, targets: Mapping[int, int], severity: int, now: datetime
) -> datetime:
    """Set when support owes a response to the ticket's message, and return it."""
    due = now + timedelta(minutes=target_minutes(targets, severity))
    ticket.response_due_at = due
    return due


def duration_words(minutes: int, language: str | None = None) -> str:
    """A response target in words: '4 hours', '1 day', '90 minutes' (or in `language`)."""
    return languages.duration_words(minutes, language)
