"""Count the SQL statements an engine runs: the work a webhook costs, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


class StatementCounter:
    """Counts every statement sent on `engine` (round trips, not rows) while it is attached."""

    def __init__(self, engine: Engine, this_thread_only: bool = False) -> None:
        self.engine = engine
        self.statements: list[str] = []
        # A webhook's own statements, not those of the background dialer it hands work to.
        self.thread = threading.get_ident() if this_thread_only else None
        self._lock = threading.Lock()

    def _add(self, statement: str) -> None:
        if self.thread is not None and threading.get_ident() != self.thread:
            return
        with self._lock:
            self.statements.append(statement)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._add(statement)

    def _begun(self, _conn: Any) -> None:
        # BEGIN is sent by the driver, not as a cursor statement, but it is a round trip too.
        self._add("BEGIN (implicit)")

    @property
    def count(self) -> int:
        """Statements seen so far (BEGIN, each query, COMMIT and ROLLBACK included)."""
        return len(self.statements)

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

    def take(self) -> list[str]:
        """The statements seen since the last take, and start again from zero."""
        with self._lock:
            taken, self.statements = self.statements, []
        return taken
