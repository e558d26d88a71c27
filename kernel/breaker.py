"""A circuit breaker for the database: after one connection failure, stop asking for a while.

While PostgreSQL is unreachable every new connection would wait out its connect timeout; a
caller must not hear that silence on every webhook. The first failure opens the breaker for
`cooldown` seconds: requests in that window go straight to the degraded answer. The next
request after it is a trial: a success closes the breaker, a failure opens it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError

DEFAULT_COOLDOWN_SECONDS = 5.0


class DatabaseUnavailable(Exception):
    """The breaker is open: don't touch the database now."""


class Breaker:
    """Open after a connection failure, closed again by the first success after `cooldown`."""

    def __init__(
        self,
        cooldown: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown = cooldown
        self.clock = clock
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        """True while requests should not try the database."""
        return self.clock() < self._open_until

    def check(self) -> None:
        """Raise DatabaseUnavailable while the breaker is open."""
        if self.is_open():
            raise DatabaseUnavailable("database circuit breaker is open")

    def failed(self) -> None:
        """A connection failed: open (or keep open) for the cooldown."""
        with self._lock:
            self._open_until = self.clock() + self.cooldown

    def succeeded(self) -> None:
        """A statement ran: close."""
        self._open_until = 0.0


def is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached (not a bad query)."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError)


def watch(engine: Engine, breaker: Breaker) -> None:
    """Trip `breaker` on the engine's connection failures, and close it on a good checkout."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A lost or refused connection, not a busy SQLite file or a slow statement.
        if context.is_disconnect or context.connection is None:
            breaker.failed()

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: object, _record: object) -> None:
        breaker.succeeded()


def init_app(app: Flask, engine: Engine, cooldown: float) -> None:
    """Give the app a breaker that watches its engine."""
    breaker = Breaker(cooldown)
    watch(engine, breaker)
    app.extensions["db_breaker"] = breaker


def current_breaker() -> Breaker:
    """The breaker of the app whose context is active."""
    breaker: Breaker = current_app.extensions["db_breaker"]
    return breaker
