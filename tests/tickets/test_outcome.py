"""A ticket's headline outcome is derived from its calls; a call's outcome only gets stronger."""

from __future__ import annotations

import pytest

from models import Call, CallOutcome, Ticket, TicketOutcome, utcnow
from tickets.outcome import set_call_outcome, ticket_outcome

C = CallOutcome


@pytest.mark.parametrize(
    ("calls", "headline"),
    [
        ([], None),
        ([None], None),
        ([C.MISSED, C.CONNECTED], TicketOutcome.CONNECTED),
        ([C.MISSED, C.MESSAGE], TicketOutcome.MISSED),
        ([C.ABANDONED_RINGING, C.ABANDONED], TicketOutcome.ABANDONED_RINGING),
        ([C.TRANSFERRED], TicketOutcome.REFUSED),
        ([C.REFUSED, C.MESSAGE], TicketOutcome.REFUSED),
        ([C.MESSAGE, C.ABANDONED], TicketOutcome.MESSAGE),
        ([C.ABANDONED], TicketOutcome.ABANDONED),
    ],
)
def test_the_ticket_shows_the_most_telling_outcome_of_its_calls(
    calls: list[CallOutcome | None], headline: TicketOutcome | None
) -> None:
    assert ticket_outcome(calls) is headline


@pytest.mark.parametrize(
    ("first", "then", "kept"),
    [
        (C.REFUSED, C.MESSAGE, C.REFUSED),  # a refusal stays one when a message follows
        (C.MISSED, C.MESSAGE, C.MISSED),  # so does a severity-1 call nobody accepted
        (C.MESSAGE, C.CONNECTED, C.CONNECTED),
        (C.ABANDONED, C.ABANDONED_RINGING, C.ABANDONED_RINGING),
    ],
)
def test_a_call_keeps_its_strongest_outcome(
    first: CallOutcome, then: CallOutcome, kept: CallOutcome
) -> None:
    ticket = Ticket()
    call = Call(ticket=ticket)
    now = utcnow()
    set_call_outcome(call, first, now)
    set_call_outcome(call, then, now)
    assert call.outcome is kept
    assert ticket.outcome is ticket_outcome([kept])
