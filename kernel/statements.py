"""Count the SQL statements an engine runs: the work a webhook costs, for tests and benchmarks.

Two figures, as the call-storm issue counts them: SQL statements (queries and data changes,
the work the database does for the request) and round trips (those, plus the transaction
control around them: BEGIN, COMMIT, ROLLBACK and savepoints, each a wait on the server too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

# Statements that only open, end or mark a transaction: round trips, not SQL statements.
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def is_transaction_control(statement: str) -> bool:
    """True for BEGIN, COMMIT, ROLLBACK and the savepoint statements."""
    return statement.lstrip().upper().startswith(_CONTROL)


@dataclass(frozen=True)
class Spent:
    """What a stretch of work sent: its SQL statements, and every round trip in order."""

    round_trips: list[str]

    @property
    def statements(self) -> list[str]:
        """The SQL statements alone (transaction control left out)."""
        return [s for s in self.round_trips if not is_transaction_control(s)]


class StatementCounter:
    """Counts what is sent on `engine` while it is attached: SQL statements and round trips."""

    def __init__(self, engine: Engine, this_thread_only: bool = False) -> None:
        self.engine = engine
        self.sent: list[str] = []
        # A webhook's own statements, not those of the background dialer it hands work to.
        self.thread = threading.get_ident() if this_thread_only else None
        self._lock = threading.Lock()

    def _add(self, statement: str) -> None:
        if self.thread is not None and threading.get_ident() != self.thread:
            return
        with self._lock:
            self.sent.append(statement)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._add(statement)

    def _begun(self, _conn: Any) -> None:
        # BEGIN is sent by the driver, not as a cursor statement, but it is a round trip too.
        self._add("BEGIN (implicit)")

    @property
    def count(self) -> int:
        """SQL statements seen so far (transaction control not included)."""
        return len(Spent(list(self.sent)).statements)

    @property
    def round_trips(self) -> int:
        """Round trips seen so far: the SQL statements, BEGIN, COMMIT, ROLLBACK, savepoints."""
        return len(self.sent)

    def _ended(self, word: str) -> Any:
        def listener(_conn: Any) -> None:
            self._add(word)

        return listener

    @contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        """Attach for the body of a `with` block, and detach after it."""
        commit, rollback = self._ended("COMMIT"), self._ended("ROLLBACK")
        listeners = [
            ("before_cursor_execute", self._seen),
            ("begin", self._begun),
            ("commit", commit),
            ("rollback", rollback),
        ]
        for name, fn in listeners:
            event.listen(self.engine, name, fn)
        try:
            yield self
        finally:
            for name, fn in listeners:
                event.remove(self.engine, name, fn)

    def take(self) -> Spent:
        """What was sent since the last take, and start again from zero."""
        with self._lock:
            taken, self.sent = self.sent, []
        return Spent(taken)
