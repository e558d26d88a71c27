"""A step's writes held until commit: one statement on PostgreSQL, and every row as the ORM
would have written it, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from flask import Flask
from sqlalchemy import Table, delete, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kernel import counters, held_writes
from kernel.statements import StatementCounter
from models import Account, CallEvent, Notification, Product, Ticket
from models.enums import NotificationChannel, NotificationStatus
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


def severities(app: Flask, ticket: Ticket) -> list[int]:
    """The severity events stored for `ticket`, as another session reads them."""
    with app.extensions["sessionmaker"]() as fresh:
        rows = fresh.scalars(
            select(CallEvent)
            .where(CallEvent.ticket_id == ticket.id, CallEvent.kind == "severity")
            .order_by(CallEvent.id)
        )
        return [row.detail["severity"] for row in rows]


def test_a_savepoint_rolled_back_takes_its_own_held_rows_and_only_those(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)  # the step's own
    with pytest.raises(RuntimeError), session.begin_nested():
        record_ticket_event(session, ticket.id, events.Severity(severity=2), NOW)
        # A read of the timeline inside the savepoint writes what is held first.
        assert session.scalars(select(CallEvent.id)).all() != []
        raise RuntimeError("undo the savepoint")
    with pytest.raises(RuntimeError), session.begin_nested():
        record_ticket_event(session, ticket.id, events.Severity(severity=3), NOW)
        raise RuntimeError("undo the savepoint, nothing read inside it")
    with session.begin_nested():
        record_ticket_event(session, ticket.id, events.Severity(severity=4), NOW)
    session.commit()
    assert severities(app, ticket) == [1, 4]


def test_a_row_held_outside_a_transaction_goes_with_rollback_and_close(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    assert not session.in_transaction()
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    session.rollback()
    record_ticket_event(session, ticket.id, events.Severity(severity=2), NOW)
    session.close()
    # The same Session object, used again for a later unit of work.
    session.add(Account(name="Later"))
    session.commit()
    assert severities(app, ticket) == []


def test_two_held_changes_to_one_counter_add_up_in_one_commit(session: Session) -> None:
    day = timedelta(days=1)
    counters.add_many(session, {("pin:call:CA1", day): 2, ("pin:number:+1:0", day): 5}, NOW)
    session.commit()
    counters.add_many_at_commit(session, {("pin:call:CA1", day): -1}, NOW)
    later = NOW + timedelta(minutes=1)  # the same window
    counters.add_many_at_commit(
        session, {("pin:call:CA1", day): -1, ("pin:number:+1:0", day): -1}, later
    )
    session.commit()
    assert counters.current(session, "pin:call:CA1", NOW, day) == 0
    assert counters.current(session, "pin:number:+1:0", NOW, day) == 4


def test_add_many_counts_a_change_held_for_the_commit(session: Session) -> None:
    hour = timedelta(hours=1)
    counters.add_many(session, {("pin:number:+1:0", hour): 3}, NOW)
    session.commit()
    counters.add_many_at_commit(session, {("pin:number:+1:0", hour): -1}, NOW)  # given back
    assert counters.add_many(session, {("pin:number:+1:0", hour): 1}, NOW) == {"pin:number:+1:0": 3}
    session.commit()
    assert counters.current(session, "pin:number:+1:0", NOW, hour) == 3


def test_a_read_naming_a_held_table_in_a_join_or_exists_sees_its_rows(
    session: Session,
) -> None:
    ticket, _account = a_ticket(session)
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    joined = select(Ticket.id).join(CallEvent, CallEvent.ticket_id == Ticket.id)
    assert session.scalars(joined).all() == [ticket.id]
    session.rollback()
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    has_event = exists().where(CallEvent.ticket_id == Ticket.id)
    assert session.scalar(select(has_event).where(Ticket.id == ticket.id)) is True
    session.rollback()


def test_a_folded_update_of_a_row_deleted_meanwhile_fails_the_commit(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    other_ticket = Ticket(subject="Other", channel="phone", created_at=BEFORE, updated_at=BEFORE)
    session.add(other_ticket)
    session.commit()
    with app.extensions["sessionmaker"]() as other:
        other.execute(delete(Ticket).where(Ticket.id == ticket.id))
        other.commit()
    ticket.subject = "changed"
    record_ticket_event(session, other_ticket.id, events.Severity(severity=1), NOW)
    # As the unit of work says it: the change went nowhere.
    with pytest.raises(StaleDataError):
        session.commit()
    session.rollback()
    assert severities(app, other_ticket) == []


def test_a_column_set_to_a_sql_expression_commits_with_rows_held(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    ticket.severity = 2
    session.commit()
    ticket.severity = Ticket.severity - 1  # rendered inline by the unit of work
    record_ticket_event(session, ticket.id, events.Severity(severity=1), NOW)
    session.commit()
    with app.extensions["sessionmaker"]() as fresh:
        assert fresh.get(Ticket, ticket.id).severity == 1  # type: ignore[union-attr]
    assert severities(app, ticket) == [1]


def test_a_held_row_gets_its_columns_python_defaults_on_both_databases(
    app: Flask, session: Session
) -> None:
    ticket, _account = a_ticket(session)
    row = {
        "ticket_id": ticket.id,
        "kind": "test",
        "channel": NotificationChannel.EMAIL,
        "recipient": "dana@example.com",
        "dedupe_key": "held-defaults",
    }
    held_writes.hold_row(session, cast(Table, Notification.__table__), row)
    session.commit()
    with app.extensions["sessionmaker"]() as fresh:
        stored = fresh.scalars(select(Notification)).one()
        assert stored.status is NotificationStatus.PENDING
        assert stored.payload == {}
        assert stored.attempts == 0
        assert stored.created_at is not None
        assert stored.available_at is not None
        assert fresh.scalar(select(func.count()).select_from(Notification)) == 1


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
        # One statement: the UPDATE (as a CTE, with the count of rows it matched).
        assert len(sent) == 1 and "UPDATE tickets" in sent[0], sent
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
