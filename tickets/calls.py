"""Opening the ticket of a call exactly once, however often Twilio repeats a webhook."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Executable,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    event,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstanceState, Session, SessionTransaction, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.schema import ColumnDefault

from kernel import held_writes
from models import Call, CallEvent, CallState, Notification, Ticket, TicketStatus
from tickets.events import CallStarted, EventKind, P, Payload, payload_of

JOIN_WINDOW = timedelta(minutes=30)
_TICKETS, _CALLS, _EVENTS = (cast(Table, m.__table__) for m in (Ticket, Call, CallEvent))


def find_call(session: Session, call_sid: str) -> Call | None:
    """The call with this CallSid, if its first webhook has been seen."""
    # The ticket comes in the same query: every step reads or writes it.
    return session.scalar(
        select(Call).options(joinedload(Call.ticket)).where(Call.call_sid == call_sid)
    )


def open_call(
    session: Session, call_sid: str, from_number: str, to_number: str, now: datetime
) -> Call:
    """The call and its ticket for `call_sid`, made on first sight (with a call_started event)."""
    existing = find_call(session, call_sid)
    if existing is not None:
        return existing
    ticket = Ticket(
        contact_phone=from_number or None,
        subject="Phone call",
        channel="phone",
        created_at=now,
        updated_at=now,
    )
    call = Call(
        call_sid=call_sid,
        ticket=ticket,
        from_number=from_number,
        to_number=to_number,
        started_at=now,
    )
    # A savepoint, so that losing the race to a retried webhook only undoes our insert.
    try:
        with session.begin_nested():
            session.add_all([ticket, call])
            session.flush()
            record_event(session, call, CallStarted(caller=from_number), now)
    except IntegrityError:
        existing = find_call(session, call_sid)
        if existing is None:
            raise
        return existing
    return call


def new_call(
    session: Session, call_sid: str, from_number: str, to_number: str, now: datetime
) -> Call:
    """A first-seen call and its ticket, made but not written: save_new_call writes them."""
    ticket = Ticket(
        contact_phone=from_number or None,
        subject="Phone call",
        channel="phone",
        created_at=now,
        updated_at=now,
    )
    # The defaults the first answer reads are set here: nothing is written before it is made.
    return Call(
        call_sid=call_sid,
        ticket=ticket,
        from_number=from_number,
        to_number=to_number,
        started_at=now,
        state=CallState.PIN,
        turn=0,
    )


def _set_columns(row: Ticket | Call) -> dict[str, Any]:
    """The column values set on a new object (the table's defaults fill in the others)."""
    state: InstanceState[Ticket | Call] = inspect(row)
    given = state.dict
    return {
        prop.columns[0].key: given[prop.key]
        for prop in state.mapper.column_attrs
        if prop.key in given
    }


def save_new_call(session: Session, call: Call, now: datetime) -> bool:
    """Write a new_call with its call_started event; False, rolled back, if it already exists."""
    # Meant as the first write of its transaction: the unique CallSid settles a race with a
    # retried webhook, and losing it loses nothing else, so no savepoint (two round trips) and
    # no lookup before it (one more) are needed on the common path, a call never seen before.
    # Plain INSERTs, not the unit of work (it cost more CPU than the rest of the greeting); on
    # PostgreSQL the ticket, the call and its first event go in one statement.
    started = CallStarted(caller=call.from_number)
    in_one = session.get_bind().dialect.name == "postgresql"
    try:
        if in_one:
            statement, params = _new_call_in_one(call, started, now)
            # On the session's connection: a Core statement needs none of the ORM's execution.
            ticket_id, call_id = session.connection().execute(statement, params).one()
        else:
            ticket_id = session.execute(
                insert(_TICKETS).values(_set_columns(call.ticket)).returning(Ticket.id)
            ).scalar_one()
            values = {**_set_columns(call), "ticket_id": ticket_id}
            call_id = session.execute(insert(_CALLS).values(values).returning(Call.id)).scalar_one()
    except IntegrityError:
        session.rollback()
        return False
    call.ticket.id, call.ticket_id, call.id = ticket_id, ticket_id, call_id
    if not in_one:
        record_event(session, call, started, now)
    return True


def _with_defaults(table: Table, given: dict[str, Any]) -> dict[str, Any]:
    """`given` and the table's scalar defaults (a SELECT of values takes no column defaults)."""
    defaults = _SCALAR_DEFAULTS.get(table)
    if defaults is None:
        defaults = _SCALAR_DEFAULTS[table] = {
            column.key: column.default.arg
            for column in table.columns
            if isinstance(column.default, ColumnDefault) and column.default.is_scalar
        }
    return {**defaults, **given}


_SCALAR_DEFAULTS: dict[Table, dict[str, Any]] = {}


def _new_call_in_one(
    call: Call, started: CallStarted, now: datetime
) -> tuple[Insert, dict[str, Any]]:
    """One INSERT ... WITH (data-modifying CTEs) for the new ticket, call and call_started event."""
    # One round trip where there were three. The statement is built once per set of columns
    # (building it cost as much CPU as running it); the values go in as parameters.
    ticket = _with_defaults(_TICKETS, _set_columns(call.ticket))
    fields = _with_defaults(_CALLS, _set_columns(call))
    event = {"at": now, "kind": started.KIND.value, "detail": started.to_json()}
    shape = (tuple(ticket), tuple(fields))
    statement = _NEW_CALL_STATEMENTS.get(shape)
    if statement is None:
        statement = _NEW_CALL_STATEMENTS[shape] = _new_call_statement(*shape)
    params = {f"t_{key}": value for key, value in ticket.items()}
    params.update({f"c_{key}": value for key, value in fields.items()})
    params.update({f"e_{key}": value for key, value in event.items()})
    return statement, params


_NEW_CALL_STATEMENTS: dict[tuple[tuple[str, ...], tuple[str, ...]], Insert] = {}


def _new_call_statement(ticket: tuple[str, ...], fields: tuple[str, ...]) -> Insert:
    def binds(prefix: str, table: Table, keys: tuple[str, ...]) -> list[Any]:
        return [bindparam(f"{prefix}_{key}", type_=table.c[key].type) for key in keys]

    new_ticket = (
        insert(_TICKETS)
        .from_select(list(ticket), select(*binds("t", _TICKETS, ticket)), include_defaults=False)
        .returning(_TICKETS.c.id)
        .cte("new_ticket")
    )
    new_call = (
        insert(_CALLS)
        .from_select(
            [*fields, "ticket_id"],
            select(*binds("c", _CALLS, fields), new_ticket.c.id),
            include_defaults=False,
        )
        .returning(_CALLS.c.id, _CALLS.c.ticket_id)
        .cte("new_call")
    )
    event = ("at", "kind", "detail")
    return (
        insert(_EVENTS)
        .from_select(
            ["ticket_id", "call_id", *event],
            select(new_call.c.ticket_id, new_call.c.id, *binds("e", _EVENTS, event)),
            include_defaults=False,
        )
        .returning(_EVENTS.c.ticket_id, _EVENTS.c.call_id)
        .add_cte(new_ticket, new_call)
    )


def lock_and_read(
    session: Session, call_sid: str, *conditions: ColumnElement[bool], take_turn: bool = True
) -> Call | None:
    """Lock the call's row when it meets `conditions` (and count a turn): the call, or None."""
    # None: leave the call be (find_call then says where it stands). One conditional UPDATE
    # both checks where the call stands and takes its row lock (a row lock on PostgreSQL,
    # SQLite's single writer lock), so of two requests racing to move one call the second
    # re-reads the moved state and does nothing. RETURNING reads the call in the same round
    # trip. The call alone: an UPDATE that waited for another step's lock re-checks only the
    # row it updates (PostgreSQL), so a ticket joined into it would be read as it was before
    # that step committed. The ticket is read after the lock, in a statement of its own, when
    # the step first uses it (call.ticket; severity_one reads it with the open incident).
    turn = Call.turn + 1 if take_turn else Call.turn
    statement = update(Call).where(Call.call_sid == call_sid, *conditions).values(turn=turn)
    return _locked(session, statement.returning(Call), {})


def lock_step(
    session: Session, call_sid: str, accepts: Collection[CallState], turn: int | None = None
) -> Call | None:
    """lock_and_read for a caller's step: the call in one of the `accepts` states (at `turn`)."""
    # The statement is built once per process and runs with parameters: building it (and its
    # cache key) on every webhook cost more CPU than the ORM's reading of the row.
    key = turn is not None
    statement = _STEP_LOCKS.get(key)
    if statement is None:
        where = [
            Call.call_sid == bindparam("lock_sid"),
            Call.state.in_(bindparam("lock_states", expanding=True)),
        ]
        if turn is not None:
            where.append(Call.turn == bindparam("lock_turn"))
        lock = update(Call).where(*where).values(turn=Call.turn + 1).returning(Call)
        statement = _STEP_LOCKS[key] = lock
    params: dict[str, Any] = {"lock_sid": call_sid, "lock_states": list(accepts)}
    if turn is not None:
        params["lock_turn"] = turn
    return _locked(session, statement, params)


_STEP_LOCKS: dict[bool, Executable] = {}


def _locked(session: Session, statement: Executable, params: dict[str, Any]) -> Call | None:
    """Run a lock statement: the locked call, or None."""
    # populate_existing: a Call already in this session takes the row as the UPDATE left it.
    options = {"synchronize_session": False, "populate_existing": True}
    call = session.scalars(statement, params, execution_options=options).first()
    if call is not None:
        _forget_ticket_read_before(session, call.ticket_id)
        mark_locked(session, call.id)
    return call


def _forget_ticket_read_before(session: Session, ticket_id: int) -> None:
    # A ticket this session read before the lock (and left unchanged) is read again on use:
    # the step whose lock we waited for may have changed it.
    ticket = session.identity_map.get(inspect(Ticket).identity_key_from_primary_key((ticket_id,)))
    if ticket is not None and not session.is_modified(ticket):
        session.expire(ticket)


_LOCKED = "locked_calls"


def mark_locked(session: Session, call_id: int) -> None:
    """Note that this transaction holds the call's row lock (and has read it fresh since)."""
    session.info.setdefault(_LOCKED, set()).add(call_id)


def holds_lock(session: Session, call_id: int) -> bool:
    """True when this transaction took the call's row lock already: a second one is no news."""
    return call_id in session.info.get(_LOCKED, ())


def has_event(session: Session, call: Call, kind: EventKind) -> bool:
    """True when the call's timeline already has a `kind` event."""
    found = session.scalar(
        select(CallEvent.id)
        .where(CallEvent.call_id == call.id, CallEvent.kind == kind.value)
        .limit(1)
    )
    return found is not None


def events_of(session: Session, call: Call, payload_type: type[P]) -> list[P]:
    """The payloads of the call's events of one kind, oldest first."""
    rows = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_id == call.id, CallEvent.kind == payload_type.KIND.value)
        .order_by(CallEvent.at, CallEvent.id)
    )
    return [p for p in (payload_of(row, payload_type) for row in rows) if p is not None]


def record_event(session: Session, call: Call, payload: Payload, now: datetime) -> None:
    """Append an event to the call's ticket timeline (its kind is the payload's)."""
    record_ticket_event(session, call.ticket_id, payload, now, call_id=call.id)


def record_ticket_event(
    session: Session, ticket_id: int, payload: Payload, now: datetime, call_id: int | None = None
) -> None:
    """Append an event to a ticket's timeline that may belong to no call (a dead SMS)."""
    # Held until the transaction commits (or something reads the timeline), then written with
    # the step's other events in one INSERT (on PostgreSQL in the one statement of the step's
    # held writes, see kernel.held_writes): a step records two or three events, and each was a
    # statement of its own.
    row = {
        "ticket_id": ticket_id,
        "call_id": call_id,
        "at": now,
        "kind": payload.KIND.value,
        "detail": payload.to_json(),
    }
    held_writes.hold_row(session, _EVENTS, row)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Committed, rolled back or closed: every lock is gone.
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)


def ticket_and_open_incident(
    session: Session, call: Call, now: datetime, *also: ColumnElement[Any]
) -> tuple[Ticket, Ticket | None, tuple[Any, ...]]:
    """The call's ticket (account, product) and the account's open severity-1 ticket: one query."""
    # The open incident: the account's unsolved severity-1 ticket of the last 30 minutes, the
    # one join_open_severity1_ticket would join (any state short of solved: an acknowledged
    # incident is still the same incident), the newest first. The values of `also` are scalar
    # columns another package wants read in the same round trip.
    params: dict[str, Any] = {"own_ticket": call.ticket_id}
    if call.account_id:
        params.update(incident_account=call.account_id, incident_since=now - JOIN_WINDOW)
    rows = session.execute(_incident_query(bool(call.account_id), also), params).unique()
    own, earlier = None, None
    values: tuple[Any, ...] = ()
    for ticket, *extra in rows:
        values = tuple(extra)
        if ticket.id == call.ticket_id:
            own = ticket
        elif earlier is None:
            earlier = ticket
    if own is None:
        raise LookupError(f"call {call.call_sid} has no ticket")
    # The call holds it (the session's identity map alone would let it go): no second load.
    set_committed_value(call, "ticket", own)
    return own, earlier, values


def _incident_query(with_account: bool, also: tuple[ColumnElement[Any], ...]) -> Select[Any]:
    """ticket_and_open_incident's query, built once per process (and per `also`), run with
    parameters: building it with its eager loads cost as much CPU as running it."""
    key = (with_account, tuple(id(column) for column in also))
    made = _INCIDENT_QUERIES.get(key)
    if made is not None and all(a is b for a, b in zip(made[0], also, strict=True)):
        return made[1]
    where: ColumnElement[bool] = Ticket.id == bindparam("own_ticket")
    if with_account:
        incident = and_(
            Ticket.account_id == bindparam("incident_account"),
            Ticket.severity == 1,
            Ticket.status != TicketStatus.SOLVED,
            Ticket.created_at >= bindparam("incident_since"),
        )
        where = or_(where, incident)
    query = (
        select(Ticket, *also)
        .options(joinedload(Ticket.account), joinedload(Ticket.product))
        .where(where)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    if len(_INCIDENT_QUERIES) > 64:
        _INCIDENT_QUERIES.clear()  # `also` changes only with a new routing version
    # `also` is kept with the query: its columns stay alive, so their ids are not reused.
    _INCIDENT_QUERIES[key] = (also, query)
    return query


_INCIDENT_QUERIES: dict[
    tuple[bool, tuple[int, ...]], tuple[tuple[ColumnElement[Any], ...], Select[Any]]
] = {}


def join_ticket(session: Session, call: Call, earlier: Ticket, now: datetime) -> Ticket:
    """Move `call` from its placeholder ticket onto `earlier` (see join_open_severity1_ticket)."""
    if call.ticket_id == earlier.id:
        return earlier
    provisional = call.ticket
    call.ticket = earlier
    session.flush()
    # The call's first ticket was only a placeholder until we knew the account: its timeline
    # and notifications move to the open ticket, then it goes.
    for table in (CallEvent, Notification):
        session.execute(
            update(table).where(table.ticket_id == provisional.id).values(ticket_id=earlier.id)
        )
    session.expire(earlier, ["events"])
    session.expire(provisional, ["events", "calls"])
    session.delete(provisional)
    grant = call.elevated_access_until
    if grant is not None and (
        earlier.elevated_access_until is None or earlier.elevated_access_until < grant
    ):
        earlier.elevated_access_until = grant
    earlier.updated_at = now
    return earlier
