"""Writes held until the transaction commits: on PostgreSQL, one statement for all of them.

A webhook's step ends in small writes: its timeline events, the PIN attempt, the PIN limits
given back, the changed columns of its call and ticket. Each was a statement of its own.
Held here, they go at commit, on PostgreSQL as one statement of data-modifying CTEs
(`WITH w0 AS (INSERT ...), w1 AS (INSERT ...) UPDATE calls ...`), on SQLite (which has no
data-modifying CTEs) one statement per table, as before. The changed call and ticket join
them only when every change of the session is a plain column update by primary key;
anything else (a new object, a deletion, a changed collection) goes through the unit of
work's flush first, as usual.

A read in the same transaction of a table with rows held writes them first, so a step
always reads what it wrote (the table named anywhere in the statement: a JOIN, an EXISTS).
Statements are built once per shape (tables, columns, number of rows) and per process, and
run with parameters: building one cost as much as running it.

Savepoints: what is held when one begins is written before it, so rolling it back never
undoes a write held outside it; what is held inside one that rolls back is dropped. Holding
begins the session's transaction, so a rollback or close always forgets what was held.
A folded UPDATE returns its row's key and raises StaleDataError when the row is gone, as the
unit of work does. A held row gets its columns' Python-side defaults, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    Table,
    bindparam,
    event,
    func,
    inspect,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import ORMExecuteState, RelationshipDirection, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.sql.util import find_tables

_ROWS = "held_rows"  # {table: [row, ...]}: one INSERT per table
_PIECES = "held_pieces"  # [Piece, ...]: other writes (upserts), PostgreSQL only


@dataclass(frozen=True)
class Piece:
    """One held write other than plain rows: its statement, built for a bind-name prefix."""

    table: Table
    shape: Hashable
    build: Callable[[str], UpdateBase]
    params: dict[str, Any]


def combines(session: Session) -> bool:
    """True where held writes go in one statement (PostgreSQL): only there does holding save one."""
    return session.get_bind().dialect.name == "postgresql"


def hold_row(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` into `table` at commit (or before a read of the table), with the others."""
    # The rows of a table must name the same columns (one INSERT ... SELECT, which takes no
    # column defaults): the Python-side defaults of the columns not named are filled in here,
    # as the unit of work (and an executemany INSERT on SQLite) would.
    missing = [(key, default) for key, default in _defaults_of(table) if key not in row]
    if missing:
        row = {**row, **{key: _value_of(default) for key, default in missing}}
    _begin(session)
    session.info.setdefault(_ROWS, {}).setdefault(table, []).append(row)


def hold(session: Session, piece: Piece) -> None:
    """Run `piece` at commit, in the one statement (callers check `combines` first)."""
    _begin(session)
    session.info.setdefault(_PIECES, []).append(piece)


def held_pieces(session: Session, table: Table) -> list[Piece]:
    """Take back the pieces held for `table` (a caller merging its writes into one piece)."""
    pieces: list[Piece] = session.info.get(_PIECES) or []
    taken = [piece for piece in pieces if piece.table is table]
    if taken:
        session.info[_PIECES] = [piece for piece in pieces if piece.table is not table]
    return taken


def write_if_held(session: Session, table: Table) -> None:
    """Write what is held now if any of it goes to `table` (before a read SQLAlchemy can't see)."""
    if table in _held_tables(session.info):
        write_held(session)


def _begin(session: Session) -> None:
    # Held outside a transaction, a write would outlive rollback() and close(): neither ends a
    # transaction that has not begun. Begun here, its end forgets what was held.
    if not session.in_transaction():
        session.connection()


_DEFAULTS: dict[Table, list[tuple[str, Any]]] = {}


def _defaults_of(table: Table) -> list[tuple[str, Any]]:
    """The columns of `table` with a Python-side scalar or callable default, and the default."""
    found = _DEFAULTS.get(table)
    if found is None:
        found = [
            (column.key, column.default)
            for column in table.columns
            if column.default is not None
            and (column.default.is_scalar or column.default.is_callable)
        ]
        _DEFAULTS[table] = found
    return found


def _value_of(default: Any) -> Any:
    # A callable default is wrapped by SQLAlchemy to take an execution context (unused here).
    return default.arg(None) if default.is_callable else default.arg


def _held_tables(info: dict[Any, Any]) -> set[Table]:
    return set(info.get(_ROWS) or ()) | {piece.table for piece in info.get(_PIECES) or ()}


def write_held(
    session: Session, with_updates: bool = False, connection: Connection | None = None
) -> None:
    """Write what is held now; `with_updates` folds in the session's changed rows too."""
    rows: dict[Table, list[dict[str, Any]]] = session.info.pop(_ROWS, None) or {}
    pieces: list[Piece] = session.info.pop(_PIECES, None) or []
    if not rows and not pieces and not _updates_only(session, with_updates):
        return
    if session.new or session.deleted:
        # The rows may name a ticket or call not yet written.
        session.flush()
    if connection is None:
        connection = session.connection()
    if not combines(session):
        for table, table_rows in rows.items():
            connection.execute(table.insert(), table_rows)
        for piece in pieces:
            statement, params = _single(piece)
            connection.execute(statement, params)
        return
    parts: list[tuple[Hashable, Callable[[str], UpdateBase], dict[str, Any]]] = [
        _rows_part(table, table_rows) for table, table_rows in rows.items()
    ]
    parts += [(piece.shape, piece.build, piece.params) for piece in pieces]
    dirty = list(session.dirty) if with_updates else []
    changes = _changed_rows(dirty)
    if changes is None:
        session.flush()
        changes, dirty = [], []
    parts += [(change.shape, change.build, change.params) for change in changes]
    if parts:
        statement, params = _combined(parts)
        result = connection.execute(statement, params)
        if changes:
            # Each UPDATE's matched rows, as the unit of work checks them: a row deleted
            # meanwhile must fail the commit, not vanish silently.
            matched = result.one()
            for change, count in zip(changes, matched, strict=True):
                if count != 1:
                    raise StaleDataError(
                        f"UPDATE statement on table '{change.table.name}' expected to update "
                        f"1 row(s); {count} were matched."
                    )
    for change in changes:
        change.mark_written()
    _settle(session, dirty)


def _updates_only(session: Session, with_updates: bool) -> bool:
    """True at a PostgreSQL commit with nothing held but changed rows (a hold turn's stored
    reply): they go as a prebuilt UPDATE by primary key, not through the unit of work's flush,
    which cost a fifth of the step's CPU. New or deleted objects leave it all to the flush."""
    return (
        with_updates
        and combines(session)
        and not session.new
        and not session.deleted
        and bool(session.dirty)
    )


def _settle(session: Session, objects: list[Any]) -> None:
    """Mark `objects` clean, as a flush would once it had written them: their changes went in
    the statement just run, and the commit's flush would otherwise walk the unit of work
    (dependency sort, history of every attribute) to find nothing to write. It cost as much
    CPU as the rest of the commit."""
    for obj in objects:
        state = inspect(obj)
        state._commit_all(state.dict, session.identity_map)


_STATEMENTS: dict[Hashable, Executable] = {}


def _single(piece: Piece) -> tuple[Executable, dict[str, Any]]:
    key = ("single", piece.shape)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = piece.build("w0_")
    return statement, {f"w0_{name}": value for name, value in piece.params.items()}


def _combined(
    parts: list[tuple[Hashable, Callable[[str], UpdateBase], dict[str, Any]]],
) -> tuple[Executable, dict[str, Any]]:
    """The one statement for `parts`: CTEs, and the rows each UPDATE matched (see _Change)."""
    key = tuple(shape for shape, _build, _params in parts)
    statement = _STATEMENTS.get(key)
    if statement is None:
        built = [build(f"w{i}_") for i, (_shape, build, _params) in enumerate(parts)]
        updates = [i for i, (shape, _build, _params) in enumerate(parts) if _is_update(shape)]
        if updates:
            # All parts as CTEs, and a SELECT of how many rows each UPDATE returned.
            ctes = [part.cte(f"w{i}") for i, part in enumerate(built)]
            counts = [select(func.count()).select_from(ctes[i]).scalar_subquery() for i in updates]
            statement = select(*counts).add_cte(*ctes)
        elif len(built) > 1:
            ctes = [part.cte(f"w{i}") for i, part in enumerate(built[:-1])]
            statement = built[-1].add_cte(*ctes)
        else:
            statement = built[0]
        if len(_STATEMENTS) > 512:
            _STATEMENTS.clear()  # shapes are few; this only bounds a surprise
        _STATEMENTS[key] = statement
    params: dict[str, Any] = {}
    for i, (_shape, _build, part_params) in enumerate(parts):
        params.update({f"w{i}_{name}": value for name, value in part_params.items()})
    return statement, params


def _rows_part(
    table: Table, rows: list[dict[str, Any]]
) -> tuple[Hashable, Callable[[str], UpdateBase], dict[str, Any]]:
    """An INSERT ... SELECT of `rows` (a multi-row VALUES is never cached by SQLAlchemy)."""
    columns = tuple(rows[0])

    def build(prefix: str) -> Insert:
        selects = [
            select(*(bindparam(f"{prefix}{i}_{c}", type_=table.c[c].type) for c in columns))
            for i in range(len(rows))
        ]
        source = selects[0] if len(selects) == 1 else union_all(*selects)
        return table.insert().from_select(list(columns), source, include_defaults=False)

    params = {f"{i}_{c}": row[c] for i, row in enumerate(rows) for c in columns}
    return ("rows", table.name, columns, len(rows)), build, params


_UPDATE = "update"


def _is_update(shape: Hashable) -> bool:
    return isinstance(shape, tuple) and bool(shape) and shape[0] == _UPDATE


@dataclass
class _Change:
    """A persistent object's changed columns, as one UPDATE by primary key."""

    obj: Any
    table: Table
    key_column: str
    values: dict[str, Any]
    # Attributes to mark as written: (attribute key, value), columns and many-to-ones alike.
    written: list[tuple[str, Any]]

    @property
    def shape(self) -> Hashable:
        return (_UPDATE, self.table.name, tuple(self.values))

    @property
    def params(self) -> dict[str, Any]:
        key = inspect(self.obj).identity[0]
        return {"key_": key, **self.values}

    def build(self, prefix: str) -> UpdateBase:
        table = self.table
        key = table.c[self.key_column]
        values = {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in self.values}
        matched = key == bindparam(f"{prefix}key_", type_=key.type)
        # RETURNING the key: the combined statement counts the rows matched.
        return update(table).where(matched).values(values).returning(key)

    def mark_written(self) -> None:
        # Committed values: the unit of work sees nothing left to flush for these.
        for attribute, value in self.written:
            set_committed_value(self.obj, attribute, value)


def _changed_rows(dirty: list[Any]) -> list[_Change] | None:
    """The session's changes (of its `dirty` objects) as UPDATEs by primary key; None when
    some change is not that."""
    changes: list[_Change] = []
    for obj in dirty:
        change = _change_of(obj)
        if change is None:
            return None
        if change.values:
            changes.append(change)
    return changes


def _change_of(obj: Any) -> _Change | None:
    state = inspect(obj)
    mapper = state.mapper
    table = mapper.local_table
    if (
        not isinstance(table, Table)
        or mapper.version_id_col is not None
        or len(mapper.primary_key) != 1
        or state.identity is None
        # A change to a collection not loaded (a backref's append) is the flush's to order.
        or state.__dict__.get("_pending_mutations")
    ):
        return None
    values: dict[str, Any] = {}
    written: list[tuple[str, Any]] = []
    # Only attributes set since the load can have history (the unit of work looks no further
    # either): the call has some forty columns, and asking each for its history cost CPU.
    touched = state.committed_state
    for prop in mapper.column_attrs:
        if prop.key not in touched:
            continue
        history = state.attrs[prop.key].history
        if not history.added and not history.deleted:
            continue
        if len(prop.columns) != 1 or prop.columns[0].table is not table or not history.added:
            return None
        if _is_sql(history.added[0]):
            return None  # the unit of work renders a SQL expression inline; a bind can't carry it
        values[prop.columns[0].key] = history.added[0]
        written.append((prop.key, history.added[0]))
    for relationship in mapper.relationships:
        if relationship.key not in touched:
            continue
        history = state.attrs[relationship.key].history
        if not history.added and not history.deleted:
            continue
        if relationship.direction is not RelationshipDirection.MANYTOONE:
            return None
        target = history.added[0] if history.added else None
        target_key = inspect(target).identity if target is not None else None
        if target is not None and (target_key is None or len(target_key) != 1):
            return None  # not written yet: the flush orders that
        for local, _remote in relationship.local_remote_pairs:
            value = target_key[0] if target_key is not None else None
            values[local.key] = value
            attribute = mapper.get_property_by_column(local).key
            written.append((attribute, value))
        written.append((relationship.key, target))
    if values:
        for column in table.columns:
            default = column.onupdate
            if column.key in values or default is None:
                continue
            if column.server_onupdate is not None or not (default.is_scalar or default.is_callable):
                return None
            value = default.arg if default.is_scalar else default.arg(None)  # type: ignore[attr-defined]
            values[column.key] = value
            written.append((mapper.get_property_by_column(column).key, value))
    key_column = mapper.primary_key[0].key
    return _Change(obj, table, key_column, values, written)


def _is_sql(value: Any) -> bool:
    return isinstance(value, ClauseElement) or hasattr(value, "__clause_element__")


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_held(session, with_updates=True)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    # A read (or move) of a table with held rows sees what the step recorded: the table
    # anywhere in the statement (a JOIN, an EXISTS, a CTE's INSERT), not only its entities.
    held = _held_tables(state.session.info)
    if not held or not isinstance(state.statement, ClauseElement):
        return
    named = find_tables(state.statement, check_columns=True, include_joins=True, include_crud=True)
    if any(table in held for table in named):
        write_held(state.session)


@event.listens_for(Session, "after_transaction_create")
def _write_before_savepoint(session: Session, transaction: SessionTransaction) -> None:
    # What is held when a savepoint begins goes before it (on the enclosing transaction's
    # connection; the SAVEPOINT itself is sent when the savepoint first needs a connection):
    # rolling the savepoint back must not undo it, and what is held from here on is its own.
    parent = transaction.parent
    if transaction.nested and parent is not None and _held_tables(session.info):
        write_held(session, connection=parent.connection(None))


@event.listens_for(Session, "after_soft_rollback")
def _forget_at_savepoint_rollback(session: Session, previous: SessionTransaction) -> None:
    # A savepoint rolled back: all that is held was held inside it (see _write_before_savepoint).
    if previous.nested:
        _forget(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Committed, rolled back or closed: what was not written is gone.
    if transaction.parent is None:
        _forget(session)


def _forget(session: Session) -> None:
    session.info.pop(_ROWS, None)
    session.info.pop(_PIECES, None)
