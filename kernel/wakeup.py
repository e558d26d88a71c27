"""Sleep until the database says there is work: PostgreSQL LISTEN/NOTIFY, SQLite's data_version.

The outbox relay used to poll every 50 ms, which kept a core busy doing nothing. On
PostgreSQL a trigger (migration 0019) sends NOTIFY on `WAKE_CHANNEL` when a notification or a
task timer is written, and the relay blocks on its LISTEN connection until then (or until its
next known deadline). On SQLite, which has no NOTIFY, it watches `PRAGMA data_version`, which
changes when another connection commits: a read of shared memory, no query plan, no I/O.
Nothing is added to a webhook's path either way (no Redis, no extra statement).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any, Protocol

import psycopg
from sqlalchemy import make_url

log = logging.getLogger(__name__)
WAKE_CHANNEL = "hotline_wake"
# SQLite: how often data_version is looked at while waiting.
SQLITE_LOOK_SECONDS = 0.05


class Waker(Protocol):
    """Blocks until the database changed (maybe) or `timeout` seconds passed."""

    def wait(self, timeout: float) -> bool: ...
    def close(self) -> None: ...


class PostgresWaker:
    """LISTENs on WAKE_CHANNEL over its own connection; reconnects after a failure."""

    def __init__(self, url: str) -> None:
        given = make_url(url)
        # The URL's query (sslmode and the like) applies to this connection too.
        options = {key: value for key, value in given.query.items() if isinstance(value, str)}
        self.conninfo = psycopg.conninfo.make_conninfo(
            host=given.host or "", port=given.port or "", dbname=given.database or "",
            user=given.username or "", password=given.password or "", connect_timeout=2,
            **options,
        )  # fmt: skip
        self.connection: psycopg.Connection[Any] | None = None

    def _listening(self) -> psycopg.Connection[Any]:
        if self.connection is None or self.connection.closed:
            self.connection = psycopg.connect(self.conninfo, autocommit=True)
            self.connection.execute(f"LISTEN {WAKE_CHANNEL}")
        return self.connection

    def wait(self, timeout: float) -> bool:
        """True when a NOTIFY arrived before `timeout`; every queued one is consumed."""
        try:
            connection = self._listening()
            woken = False
            for _ in connection.notifies(timeout=max(0.0, timeout), stop_after=1):
                woken = True
            if woken:
                # Notifications that came together are one wake-up: drain what is queued.
                for _ in connection.notifies(timeout=0.0):
                    pass
            return woken
        except psycopg.Error as exc:
            log.warning("wake-up connection lost (%s); waiting %.1f s instead", exc, timeout)
            self.close()
            time.sleep(min(timeout, 1.0))
            return True  # the caller looks for work: a NOTIFY may have been missed

    def close(self) -> None:
        """Close the LISTEN connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class SqliteWaker:
    """Watches the database file's data_version on a connection of its own."""

    def __init__(self, url: str) -> None:
        database = make_url(url).database or ""
        self.connection = sqlite3.connect(database, timeout=15, check_same_thread=False)
        self.version = self._version()

    def _version(self) -> int:
        row = self.connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def wait(self, timeout: float) -> bool:
        """True when another connection committed before `timeout`."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            version = self._version()
            if version != self.version:
                self.version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(SQLITE_LOOK_SECONDS, left))

    def close(self) -> None:
        """Close the watching connection."""
        self.connection.close()


class SleepWaker:
    """For a database with neither: plain sleeping, as the relay did before."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def wait(self, timeout: float) -> bool:
        time.sleep(max(0.0, min(timeout, self.interval)))
        return True

    def close(self) -> None:
        """Nothing to close."""


def waker_for(url: str, fallback_interval: float) -> Waker:
    """The waker that suits the database at `url`."""
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        return PostgresWaker(url)
    if backend == "sqlite" and (make_url(url).database or ":memory:") != ":memory:":
        return SqliteWaker(url)
    return SleepWaker(fallback_interval)
