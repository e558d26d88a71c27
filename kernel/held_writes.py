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
always reads what it wrote. Statements are built once per shape (tables, columns, number of
rows) and per process, and run with parameters: building one cost as much as running it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, event, inspect, select, union_all, update
from sqlalchemy.orm import ORMExecuteState, RelationshipDirection, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert, UpdateBase

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
    """True where held writes go in one statement (PostgreSQL): only there is holding one
    more write a statement saved."""
    return session.get_bind().dialect.name == "postgresql"


def hold_row(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` into `table` at commit (or before a read of the table), with the others.

    The row names every column but a generated key, the same ones for every row of a table
    (column defaults are not applied: the rows go in as an INSERT ... SELECT).
    """
    session.info.setdefault(_ROWS, {}).setdefault(table, []).append(row)


def hold(session: Session, piece: Piece) -> None:
    """Run `piece` at commit, in the one statement (callers check `combines` first)."""
    session.info.setdefault(_PIECES, []).append(piece)


def write_held(session: Session, with_updates: bool = False) -> None:
    """Write what is held now; `with_updates` folds in the session's changed rows too."""
    rows: dict[Table, list[dict[str, Any]]] = session.info.pop(_ROWS, None) or {}
    pieces: list[Piece] = session.info.pop(_PIECES, None) or []
    if not rows and not pieces and not _updates_only(session, with_updates):
        return
    if session.new or session.deleted:
        # The rows may name a ticket or call not yet written.
        session.flush()
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
        connection.execute(statement, params)
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


_STATEMENTS: dict[Hashable, UpdateBase] = {}


def _single(piece: Piece) -> tuple[UpdateBase, dict[str, Any]]:
    key = ("single", piece.shape)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = piece.build("w0_")
    return statement, {f"w0_{name}": value for name, value in piece.params.items()}


def _combined(
    parts: list[tuple[Hashable, Callable[[str], UpdateBase], dict[str, Any]]],
) -> tuple[UpdateBase, dict[str, Any]]:
    """The one statement for `parts` (the last is the main statement, the others its CTEs)."""
    key = tuple(shape for shape, _build, _params in parts)
    statement = _STATEMENTS.get(key)
    if statement is None:
        built = [build(f"w{i}_") for i, (_shape, build, _params) in enumerate(parts)]
        if len(built) > 1:
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
        return ("update", self.table.name, tuple(self.values))

    @property
    def params(self) -> dict[str, Any]:
        key = inspect(self.obj).identity[0]
        return {"key_": key, **self.values}

    def build(self, prefix: str) -> UpdateBase:
        table = self.table
        key = table.c[self.key_column]
        values = {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in self.values}
        return update(table).where(key == bindparam(f"{prefix}key_", type_=key.type)).values(values)

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


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_held(session, with_updates=True)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    # A read (or move) of a table with held rows sees what the step recorded.
    info = state.session.info
    held = set(info.get(_ROWS) or ()) | {piece.table for piece in info.get(_PIECES) or ()}
    if held and any(mapper.local_table in held for mapper in state.all_mappers):
        write_held(state.session)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Committed, rolled back or closed: what was not written is gone.
    if transaction.parent is None:
        session.info.pop(_ROWS, None)
        session.info.pop(_PIECES, None)
