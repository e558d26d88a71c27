"""Take, assign, acknowledge, pending and solve on the ticket page, and "My tickets"."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Ticket, TicketAssignment, TicketStatus
from models.users import TicketStatusChange
from tests.dashboard.conftest import Browser


def reopened(ticket: Any, session: Session) -> Any:
    """The seeded ticket as if nobody had accepted its call: open, owned by nobody."""
    ticket.status, ticket.assignee_name = TicketStatus.OPEN, None
    ticket.assignee_user_id = ticket.assignee_engineer_id = None
    session.execute(delete(TicketStatusChange))
    session.execute(delete(TicketAssignment))
    session.commit()
    return ticket


def test_the_engineer_who_accepted_the_call_owns_the_seeded_ticket(call_ticket: Any) -> None:
    assert call_ticket.status is TicketStatus.ACKNOWLEDGED
    assert call_ticket.assignee_name


def test_taking_an_open_ticket_makes_it_mine_and_acknowledged(
    as_engineer: Browser, call_ticket: Any, session: Session
) -> None:
    reopened(call_ticket, session)
    response = as_engineer.post(f"/dashboard/tickets/{call_ticket.id}/take")
    assert response.status_code == 302  # post/redirect/get
    session.refresh(call_ticket)
    assert call_ticket.status is TicketStatus.ACKNOWLEDGED
    assert call_ticket.assignee_name == "erik"
    change = session.scalars(select(TicketStatusChange)).one()
    assert (change.username, change.to_status) == ("erik", TicketStatus.ACKNOWLEDGED)
    mine = as_engineer.get("/dashboard/tickets/mine").data.decode()
    assert call_ticket.number in mine
    page = as_engineer.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert "erik by <strong>erik</strong>" in page


def test_my_tickets_leaves_out_tickets_owned_by_others_or_nobody(
    as_engineer: Browser, call_ticket: Any, session: Session
) -> None:
    assert call_ticket.number not in as_engineer.get("/dashboard/tickets/mine").data.decode()
    reopened(call_ticket, session)
    assert call_ticket.number not in as_engineer.get("/dashboard/tickets/mine").data.decode()


def test_assigning_to_a_user_and_solving_keeps_the_history(
    as_manager: Browser, engineer_user: Any, call_ticket: Any, session: Session
) -> None:
    reopened(call_ticket, session)
    url = f"/dashboard/tickets/{call_ticket.id}"
    as_manager.post(f"{url}/assign", data={"user_id": str(engineer_user.id)})
    as_manager.post(f"{url}/acknowledge")
    as_manager.post(f"{url}/status", data={"status": "pending"})
    as_manager.post(f"{url}/status", data={"status": "solved"})
    session.refresh(call_ticket)
    assert call_ticket.assignee_user_id == engineer_user.id
    assert call_ticket.assignee_engineer_id == engineer_user.engineer_id
    steps = [c.to_status for c in session.scalars(select(TicketStatusChange))]
    assert steps == [TicketStatus.ACKNOWLEDGED, TicketStatus.PENDING, TicketStatus.SOLVED]
    (assignment,) = session.scalars(select(TicketAssignment))
    assert (assignment.assignee_name, assignment.by_name) == ("erik", "maria")


def test_assigning_to_an_unknown_user_changes_nothing(
    as_manager: Browser, call_ticket: Any, session: Session
) -> None:
    reopened(call_ticket, session)
    url = f"/dashboard/tickets/{call_ticket.id}"
    for bad in ("999", "x", "-1"):
        response = as_manager.post(f"{url}/assign", data={"user_id": bad})
        assert response.status_code == 302
    session.refresh(call_ticket)
    assert call_ticket.assignee_user_id is None
    assert session.scalars(select(TicketAssignment)).all() == []


def test_a_take_without_the_csrf_token_is_refused(
    as_engineer: Browser, call_ticket: Any, session: Session
) -> None:
    reopened(call_ticket, session)
    response = as_engineer.client.post(f"/dashboard/tickets/{call_ticket.id}/take")
    assert response.status_code in (400, 403)
    session.refresh(call_ticket)
    assert call_ticket.assignee_name is None


def test_my_tickets_pages_and_filters_stay_on_my_tickets(
    as_engineer: Browser, call_ticket: Any, session: Session
) -> None:
    reopened(call_ticket, session)
    as_engineer.post(f"/dashboard/tickets/{call_ticket.id}/take")
    session.refresh(call_ticket)
    other = Ticket(
        subject="Second one", assignee_name="erik", assignee_user_id=call_ticket.assignee_user_id
    )
    session.add(other)
    session.commit()
    page = as_engineer.get("/dashboard/tickets/mine?per_page=1").data.decode()
    assert "<h1>My tickets</h1>" in page
    next_link = re.search(r'href="([^"]+)" rel="next"', page)
    assert next_link is not None and next_link.group(1).startswith("/dashboard/tickets/mine?")
    assert 'action="/dashboard/tickets/mine"' in page
    second = as_engineer.get(next_link.group(1).replace("&amp;", "&")).data.decode()
    assert "Page 2 of 2" in second and "Second one" in second + page
