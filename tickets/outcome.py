"""Each call's own outcome, and the ticket's headline outcome derived from all its calls.

A call's outcome is set by the step that decides it and only ever moves to a stronger one:
a refusal stays a refusal when the caller then leaves a message, and a severity-1 call
nobody accepted stays missed when the caller then leaves one. The ticket shows the most
telling outcome among its calls: one connected call means the incident reached an engineer.
"""

from __future__ import annotations

from datetime import datetime

from models import Call, CallOutcome, Ticket, TicketOutcome

# Strongest first: a later, weaker outcome never replaces an earlier, stronger one.
_CALL_RANK = (
    CallOutcome.CONNECTED,
    CallOutcome.MISSED,
    CallOutcome.REFUSED,
    CallOutcome.TRANSFERRED,
    CallOutcome.ABANDONED_RINGING,
    CallOutcome.MESSAGE,
    CallOutcome.ABANDONED,
)
_TICKET_RANK = (
    (CallOutcome.CONNECTED, TicketOutcome.CONNECTED),
    (CallOutcome.MISSED, TicketOutcome.MISSED),
    (CallOutcome.ABANDONED_RINGING, TicketOutcome.ABANDONED_RINGING),
    (CallOutcome.REFUSED, TicketOutcome.REFUSED),
    (CallOutcome.TRANSFERRED, TicketOutcome.REFUSED),
    (CallOutcome.MESSAGE, TicketOutcome.MESSAGE),
    (CallOutcome.ABANDONED, TicketOutcome.ABANDONED),
)


def set_call_outcome(call: Call, outcome: CallOutcome, now: datetime) -> None:
    """Record how `call` ended (unless it already has a stronger outcome); update its ticket."""
    if call.outcome is None or _CALL_RANK.index(outcome) < _CALL_RANK.index(call.outcome):
        call.outcome = outcome
    refresh_ticket_outcome(call.ticket, now)


def ticket_outcome(outcomes: list[CallOutcome | None]) -> TicketOutcome | None:
    """The headline outcome of a ticket whose calls ended as `outcomes`."""
    for call_outcome, headline in _TICKET_RANK:
        if call_outcome in outcomes:
            return headline
    return None


def refresh_ticket_outcome(ticket: Ticket, now: datetime) -> None:
    """Derive the ticket's outcome from its calls again."""
    derived = ticket_outcome([call.outcome for call in ticket.calls])
    if derived is not ticket.outcome:
        ticket.outcome = derived
        ticket.updated_at = now
