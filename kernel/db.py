"""The database engine and sessions: one engine per app, one session per request or job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from kernel import breaker
from kernel.private_files import private_file, tighten


def make_engine(url: str, timeout: float = 2.0) -> Engine:
    """An engine for `url`, with SQLite tuned for a web app and a worker sharing one file.

    On a server database nothing waits longer than `timeout` seconds: not the connect, not a
    statement (PostgreSQL's statement_timeout), not a pool checkout. A webhook that can't
    reach the database must find out while Twilio still waits for its answer.
    """
    # hide_parameters: an error's text (logged) never carries a statement's values, such as a
    # PIN's keyed hash riding in the statement that reserves its limits.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        path = _sqlite_file(url)
        if path is not None and path.parent.is_dir():
            # Made 0600 before SQLite opens it; SQLite gives its -wal and -shm the same mode.
            private_file(path)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            if path is not None:
                # Files left by an earlier version with the process umask's mode.
                tighten(*_sqlite_files(path))
            cursor = dbapi_connection.cursor()
            # WAL lets the dashboard read while a webhook writes; busy_timeout waits for locks.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if make_url(url).get_backend_name() == "postgresql":
        connect_args = {
            "connect_timeout": max(1, round(timeout)),
            "options": f"-c statement_timeout={round(timeout * 1000)}",
        }
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args=connect_args,
        hide_parameters=True,
    )
    ping_when_idle(engine)
    return engine


# A pooled connection unused this long is pinged before use; a busy one is not.
PING_AFTER_IDLE_SECONDS = 5.0


def ping_when_idle(engine: Engine, idle: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check a pooled connection before use only if it sat idle for `idle` seconds.

    SQLAlchemy's pool_pre_ping sends a round trip on every checkout: one statement in four of
    a webhook's. A connection that was used a moment ago is alive; one that waited through a
    database restart or a firewall's idle cut is not, and that is the one we ping. A dead one
    is replaced (the pool retries the checkout) before any request sees it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("pooled connection found dead after idling") from exc


@contextmanager
def bitmap_scans_only(session: Session) -> Iterator[None]:
    """Within the block, PostgreSQL reads tables through bitmap index scans only.

    For a substring match answered by trigram indexes, where the planner would otherwise test
    every row it walks. The settings are local to the transaction and put back after the
    block (or with the transaction, if the block fails); other databases are left alone.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield
        return
    before = session.execute(
        text(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan'), "
            "set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)"
        )
    ).one()
    yield
    # Not on an error: the transaction is then rolled back, and the settings with it.
    session.execute(
        text(
            "SELECT set_config('enable_seqscan', :seq, true), "
            "set_config('enable_indexscan', :index, true)"
        ),
        {"seq": before[0], "index": before[1]},
    )


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_files(path: Path) -> tuple[Path, ...]:
    """The database file and the write-ahead log and shared-memory files beside it."""
    return (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))


def init_app(app: Flask, url: str, timeout: float = 2.0, breaker_seconds: float = 5.0) -> None:
    """Attach an engine and a session factory to `app`, and close sessions after each request."""
    engine = make_engine(url, timeout)
    breaker.init_app(app, engine, breaker_seconds)
    app.extensions["engine"] = engine
    app.extensions["sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request (or app context), made on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["sessionmaker"]()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
