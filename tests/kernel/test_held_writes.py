"""A step's writes held until commit: one statement on PostgreSQL, and every row as the ORM
would have written it, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.statements import StatementCounter
from models import Account, CallEvent, Product, Ticket
from tickets import events
from tickets.calls import record_ticket_event

BEFORE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def a_ticket(session: Session) -> tuple[Ticket, Account]:
    account = Account(name="Acme")
    ticket = Ticket(subject="Phone call", channel="phone", created_at=BEFORE, updated_at=BEFORE)
    session.add_all([account, ticket])
    session.commit()
    return ticket, account


def test_events_and_changed_columns_go_in_one_statement_on_postgresql(
    app: Flask, session: Session, statements: StatementCounter, is_postgres: bool
) -> None:
    ticket, account = a_ticket(session)
    statements.take()
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    record_ticket_event(session, ticket.id, events.Language(language="fr"), NOW)
    ticket.subject = "Severity 1 from Acme: service down"
    ticket.account = account  # a many-to-one: its foreign key is written too
    session.commit()
    sent = statements.take().statements
    # SQLite has no data-modifying CTEs: the events' INSERT, then the ticket's UPDATE.
    assert len(sent) == (1 if is_postgres else 2), sent
    with app.extensions["sessionmaker"]() as fresh:
        stored = fresh.get(Ticket, ticket.id)
        assert stored is not None
        assert stored.subject == "Severity 1 from Acme: service down"
        assert stored.account_id == account.id
        # The column's onupdate, as the unit of work would have set it.
        assert stored.updated_at > BEFORE
        kinds = fresh.scalars(
            select(CallEvent.kind).where(CallEvent.ticket_id == ticket.id).order_by(CallEvent.id)
        ).all()
        assert kinds == ["severity", "language"]


def test_a_read_of_the_timeline_sees_the_events_held(app: Flask, session: Session) -> None:
    ticket, _account = a_ticket(session)
    record_ticket_event(session, ticket.id, events.Severity(severity=2), NOW)
    timeline = select(CallEvent.kind).where(CallEvent.ticket_id == ticket.id)
    assert session.scalars(timeline).all() == ["severity"]
    session.rollback()
    # Rolled back: the held event went with the transaction.
    assert session.scalars(timeline).all() == []


def test_a_change_one_statement_cannot_carry_goes_through_the_flush(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    ticket.subject = "changed"
    session.add(Account(name="Beta"))  # a new row: the unit of work writes it first
    session.commit()
    with app.extensions["sessionmaker"]() as fresh:
        assert fresh.scalar(select(Account.id).where(Account.name == "Beta")) is not None
        assert fresh.get(Ticket, ticket.id).subject == "changed"  # type: ignore[union-attr]
        assert fresh.scalar(select(CallEvent.kind).where(CallEvent.ticket_id == ticket.id)) == (
            "severity"
        )


def test_changed_rows_alone_commit_in_one_update_and_later_changes_still_count(
    app: Flask, session: Session, statements: StatementCounter, is_postgres: bool
) -> None:
    """A commit with nothing held but changed columns (a hold turn's stored reply) writes them
    without the unit of work on PostgreSQL; the objects it marks clean still track changes."""
    ticket, account = a_ticket(session)
    statements.take()
    ticket.subject = "Severity 1 from Acme: service down"
    ticket.account = account
    session.commit()
    if is_postgres:
        sent = statements.take().statements
        assert len(sent) == 1 and sent[0].lstrip().startswith("UPDATE tickets"), sent
    ticket.subject = "Severity 1 from Acme: resolved"
    session.commit()
    with app.extensions["sessionmaker"]() as fresh:
        stored = fresh.get(Ticket, ticket.id)
        assert stored is not None
        assert stored.subject == "Severity 1 from Acme: resolved"
        assert stored.account_id == account.id
        assert stored.updated_at > BEFORE


def test_a_collection_change_alone_still_goes_through_the_flush(
    app: Flask, session: Session
) -> None:
    ticket, account = a_ticket(session)
    product = Product(code="db", name="Database")
    session.add(product)
    session.commit()
    account.products.append(product)  # a many-to-many row: only the unit of work writes it
    ticket.subject = "changed"
    session.commit()
    with app.extensions["sessionmaker"]() as fresh:
        stored = fresh.get(Account, account.id)
        assert stored is not None
        assert [p.code for p in stored.products] == ["db"]
        assert fresh.get(Ticket, ticket.id).subject == "changed"  # type: ignore[union-attr]
