"""Tickets as a customer sees them: their account's, from any channel, without staff-only data.

A customer sees date, subject, category, severity, status (Pending or Solved) and how a call
ended; never PIN attempts, call timelines, internal notes or who was rung.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from models import Account, Contact, Ticket, TicketOutcome, TicketStatus, parse_ticket_number
from tickets.categories import list_categories
from tickets.severity import set_response_due

PAGE_SIZE = 50
MAX_SUBJECT = 300
MAX_DESCRIPTION = 20000
# Severity 1 comes in by phone only (the support policies); the portal takes 2-4.
PORTAL_SEVERITIES = (2, 3, 4)


class CustomerStatus(str, Enum):
    """The two states a customer sees; staff's open, acknowledged and pending are all Pending."""

    PENDING = "pending"
    SOLVED = "solved"


class Sort(str, Enum):
    NEWEST = "newest"
    OLDEST = "oldest"
    SEVERITY = "severity"
    UPDATED = "updated"


OUTCOME_WORDS = {
    TicketOutcome.CONNECTED: "Call connected to an engineer",
    TicketOutcome.MISSED: "Call not answered; we call you back",
    TicketOutcome.ABANDONED_RINGING: "Call ended while engineers were being rung",
    TicketOutcome.MESSAGE: "Message left",
    TicketOutcome.REFUSED: "Call refused",
    TicketOutcome.ABANDONED: "Call ended before it was complete",
}


class TicketFormError(ValueError):
    """A field of the new-ticket form is wrong: `field` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TicketQuery:
    """What the customer asked the list for."""

    text: str = ""
    category: str = ""
    status: CustomerStatus | None = None
    sort: Sort = Sort.NEWEST
    page: int = 1


@dataclass(frozen=True)
class TicketRow:
    """One line of the customer's ticket list."""

    id: int
    number: str
    created_at: datetime
    updated_at: datetime
    subject: str
    category: str
    severity: int | None
    status: CustomerStatus
    waiting_on_customer: bool
    outcome: str | None


@dataclass(frozen=True)
class TicketPage:
    rows: list[TicketRow]
    total: int
    page: int
    pages: int


def customer_status(status: TicketStatus) -> CustomerStatus:
    """Pending or Solved."""
    return CustomerStatus.SOLVED if status is TicketStatus.SOLVED else CustomerStatus.PENDING


def outcome_words(outcome: TicketOutcome | None) -> str | None:
    """How the ticket's call ended, in the customer's words (None: not a phone ticket)."""
    return OUTCOME_WORDS.get(outcome) if outcome is not None else None


def _filters(account_id: int, query: TicketQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Ticket.account_id == account_id]
    if query.category:
        where.append(Ticket.category == query.category)
    if query.status is CustomerStatus.SOLVED:
        where.append(Ticket.status == TicketStatus.SOLVED)
    elif query.status is CustomerStatus.PENDING:
        where.append(Ticket.status != TicketStatus.SOLVED)
    text = query.text.strip()[:200]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches: list[ColumnElement[bool]] = [
            Ticket.subject.ilike(pattern, escape="\\"),
            Ticket.description.ilike(pattern, escape="\\"),
        ]
        number = parse_ticket_number(text)
        if number is not None:
            matches.append(Ticket.id == number)
        where.append(or_(*matches))
    return where


def _ordered(stmt: Select[Any], sort: Sort) -> Select[Any]:
    match sort:
        case Sort.OLDEST:
            return stmt.order_by(Ticket.created_at, Ticket.id)
        case Sort.SEVERITY:
            return stmt.order_by(
                Ticket.severity.is_(None), Ticket.severity, Ticket.created_at.desc()
            )
        case Sort.UPDATED:
            return stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        case _:
            return stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def list_tickets(session: Session, account_id: int, query: TicketQuery) -> TicketPage:
    """One page of the account's tickets, filtered and sorted as asked."""
    where = _filters(account_id, query)
    total = session.scalar(select(func.count()).select_from(Ticket).where(and_(*where))) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    stmt = _ordered(select(Ticket).where(and_(*where)), query.sort)
    tickets: list[Ticket] = list(
        session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    )
    rows = [
        TicketRow(
            id=t.id,
            number=t.number,
            created_at=t.created_at,
            updated_at=t.updated_at,
            subject=t.subject or "(no subject)",
            category=t.category,
            severity=t.severity,
            status=customer_status(t.status),
            waiting_on_customer=t.status is TicketStatus.PENDING,
            outcome=outcome_words(t.outcome),
        )
        for t in tickets
    ]
    return TicketPage(rows=rows, total=total, page=page, pages=pages)


def account_ticket(session: Session, account_id: int, ticket_id: int) -> Ticket | None:
    """The ticket if it belongs to this account; None otherwise (the caller answers 404)."""
    ticket = session.get(Ticket, ticket_id)
    return ticket if ticket is not None and ticket.account_id == account_id else None


@dataclass(frozen=True)
class NewTicket:
    """The new-ticket form as the customer filled it."""

    category: str
    subject: str
    description: str
    severity: str
    product_id: str = ""


def checked_severity(raw: str) -> int:
    """The severity asked for (2-4), or TicketFormError."""
    if raw.strip() not in {str(s) for s in (1, *PORTAL_SEVERITIES)}:
        raise TicketFormError("severity", "Choose a severity.")
    return int(raw)


def open_ticket(
    session: Session,
    account: Account,
    contact: Contact,
    form: NewTicket,
    now: datetime,
    targets: dict[int, int],
) -> Ticket:
    """A ticket opened by a contact (severity 2-4), due a response by its severity's target."""
    categories = {c.code for c in list_categories(session, customer_only=True)}
    if form.category not in categories:
        raise TicketFormError("category", "Choose a category.")
    subject = " ".join(form.subject.split())
    if not subject:
        raise TicketFormError("subject", "Say in a few words what the problem is.")
    if len(subject) > MAX_SUBJECT:
        raise TicketFormError("subject", f"The subject can be at most {MAX_SUBJECT} characters.")
    description = form.description.strip()
    if not description:
        raise TicketFormError("description", "Describe the problem: what happened, and when.")
    if len(description) > MAX_DESCRIPTION:
        raise TicketFormError(
            "description", f"The description can be at most {MAX_DESCRIPTION} characters."
        )
    severity = checked_severity(form.severity)
    if severity not in PORTAL_SEVERITIES:
        raise TicketFormError("severity", "Severity 1 must be reported by phone.")
    product = None
    if form.product_id.strip():
        product = next((p for p in account.products if str(p.id) == form.product_id.strip()), None)
        if product is None:
            raise TicketFormError("product", "Choose one of your products.")
    ticket = Ticket(
        account_id=account.id,
        product=product,
        contact_id=contact.id,
        contact_name=contact.name,
        contact_phone=contact.phone,
        severity=severity,
        category=form.category,
        subject=subject,
        description=description,
        status=TicketStatus.OPEN,
        channel="portal",
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    set_response_due(ticket, targets, severity, now)
    return ticket
