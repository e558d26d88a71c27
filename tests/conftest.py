"""Shared fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), a real Redis."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from _pytest.nodeid import NodeId
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

import models
from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis
from hotline.migrate import upgrade
from kernel.db import make_engine
from kernel.statements import StatementCounter

TEST_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
TEST_ACCOUNT_SID = "AC" + "0" * 32
PUBLIC_BASE_URL = "https://hotline.example.test"


def _reuse_url_builders() -> None:
    """Build each URL rule's builder function once per process instead of once per app.

    Every test creates an app, and werkzeug compiles two builder functions (an AST through
    `compile`) for each of the app's ~120 rules: four fifths of `create_app` in a test. The
    builder is a pure function of the rule's parsed form and defaults (it reaches the rule's
    converters through the `self` it is bound to), so one compiled copy serves every app.
    """
    compile_builder = Rule._compile_builder
    builders: dict[tuple[Any, ...], Any] = {}

    def cached(self: Rule, append_unknown: bool = True) -> Any:
        key = (
            self.rule, self.host, self.subdomain, self.merge_slashes, repr(self.defaults),
            append_unknown, tuple(self._trace), self.map.host_matching,
        )  # fmt: skip
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = cached  # type: ignore[method-assign]


_reuse_url_builders()


def xdist_worker() -> str | None:
    """This pytest-xdist worker's id (gw0, gw1, ...), or None when the run is not distributed."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def _worker_postgres(url: str, worker: str) -> str:
    """`url` with the database `<name>_<worker>`, created through the maintenance database."""
    given = make_url(url)
    own = given.set(database=f"{given.database}_{worker}")
    engine = make_engine(given.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


def _worker_redis(url: str, worker: str) -> str:
    """`url` with the Redis database number shifted by the worker's index (gw1: db + 1)."""
    index = int(worker.removeprefix("gw"))
    scheme, _, rest = url.partition("://")
    address, _, db = rest.partition("/")
    number = int(db.split("?", 1)[0] or 0) + index
    if number > 15:
        pytest.exit(f"TEST_REDIS_URL {url}: worker {worker} would need Redis db {number} (> 15)")
    return f"{scheme}://{address}/{number}"


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database brought to the current schema by the shipped migrations.

    Under pytest-xdist each worker has its own: `<TEST_DATABASE_URL's name>_gw0` and so on,
    so one worker never drops the schema another is using.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    worker = xdist_worker()
    if url:
        if worker:
            url = _worker_postgres(url, worker)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis when TEST_REDIS_URL names it, else an embedded real one.

    Under pytest-xdist worker gwN uses TEST_REDIS_URL's database number + N: tests flush it.
    """
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        worker = xdist_worker()
        yield _worker_redis(url, worker) if worker else url
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def test_settings(database_url: str, redis_url: str, data_dir: Path) -> dict[str, Any]:
    """The environment a test app is built from."""
    return {
        "HOTLINE_ENV": "test",
        "HOTLINE_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "PIN_PEPPER": "test-pin-pepper",
        "TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        # Nothing listens here: a test that reaches Twilio without a simulator fails fast.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }


@pytest.fixture
def app_config(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for the test app; a test may change them before asking for `app`."""
    return test_settings(database_url, redis_url, tmp_path / "var")


@pytest.fixture(scope="session")
def retired_engines() -> Iterator[list[Engine]]:
    """Engines of finished tests, disposed once more when the whole run ends."""
    engines: list[Engine] = []
    yield engines
    # A late asynchronous callback (an SMS receipt, say) can reopen a test's pool after its
    # teardown; keeping the engine and disposing it here closes that connection properly.
    for engine in engines:
        engine.dispose()


@pytest.fixture
def app(app_config: dict[str, Any], retired_engines: list[Engine]) -> Iterator[Flask]:
    """A fresh app on the shared test database, emptied after each test."""
    app = create_app(app_config)
    app.config["TESTING"] = True
    yield app
    # Engineer calls placed in the background must finish before their database goes.
    app.extensions["dialer"].close()
    engine = app.extensions["engine"]
    _empty_every_table(engine)
    engine.dispose()
    retired_engines.append(engine)
    redis_client: redis.Redis = app.extensions["redis"]
    redis_client.flushdb()
    redis_client.close()


def _empty_every_table(engine: Engine) -> None:
    """Delete every row, children first, in one round trip (one statement per table cost a
    test 8-15 ms on PostgreSQL and 3 ms on SQLite; one script costs 3 and 1)."""
    script = "".join(
        f"DELETE FROM {engine.dialect.identifier_preparer.format_table(table)};\n"
        for table in reversed(models.Base.metadata.sorted_tables)
    )
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            # No parameters: psycopg sends the whole script as one simple query.
            conn.exec_driver_sql(script)
        return
    raw = engine.raw_connection()
    try:
        # sqlite3 runs one statement per execute; executescript runs many (and commits first).
        raw.driver_connection.executescript(f"BEGIN;\n{script}COMMIT;")  # type: ignore[union-attr]
    finally:
        raw.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A database session of the test app."""
    with app.extensions["sessionmaker"]() as db_session:
        yield db_session


@pytest.fixture
def statements(app: Flask) -> Iterator[StatementCounter]:
    """Counts the SQL statements this test's own thread sends (`.take()` reads and resets)."""
    counter = StatementCounter(app.extensions["engine"], this_thread_only=True)
    with counter.counting():
        yield counter


@pytest.fixture
def runner(app: Flask) -> Any:
    """Invoke `hotline` commands against the test app."""
    from hotline.cli import cli

    class Runner:
        def invoke(self, *args: str, input: str | None = None) -> Any:
            return CliRunner().invoke(cli, list(args), obj=lambda: app, input=input)

    return Runner()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Headless Chromium, shared by browser tests that run one after another in this process."""
    from tests.dashboard import browser_kit

    browser = browser_kit.shared_chromium()
    yield browser
    for context in browser.contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Close the shared Chromium once the next test in this process does not use it."""
    try:
        return (yield)
    finally:
        if nextitem is None or "chromium" not in getattr(nextitem, "fixturenames", ()):
            browser_kit = sys.modules.get("tests.dashboard.browser_kit")
            if browser_kit is not None:
                browser_kit.close_shared_chromium()


# The fault suite's rows (tests/faults), written by whichever process ran it and printed here,
# by the process that reports (the xdist controller collects no tests, so this lives here).
FAULT_RESULTS = Path(__file__).resolve().parents[1] / ".pytest_cache" / "fault-results.jsonl"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first: under xdist the quick ones then fill the gaps beside them, instead of
    one worker finishing a long test alone at the end of the run."""
    # Browser tests first among them, next to each other: they share one Chromium.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            "chromium" not in getattr(item, "fixturenames", ()),
        )
    )
    if getattr(config.option, "loadgroup", False):  # set on xdist workers
        _keep_xdist_groups(items)


def _keep_xdist_groups(items: list[pytest.Item]) -> None:
    """Give `xdist_group` tests the `@group` nodeid suffix `--dist loadgroup` schedules by.

    pytest-xdist 3.8 adds it by setting `item._nodeid`, which pytest 9.2 no longer reads (the
    nodeid is `item._id` now), so every group was silently spread over both workers: the fault
    suite started its whole topology twice, and ran two at once on the two cores.
    """
    for item in items:
        names = sorted(
            {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
             for mark in item.iter_markers("xdist_group")}
        )  # fmt: skip
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")  # type: ignore[attr-defined]


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        FAULT_RESULTS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FAULT_RESULTS.exists():
        return
    rows = [json.loads(line) for line in FAULT_RESULTS.read_text().splitlines() if line]
    terminalreporter.section("what happens when something fails")
    terminalreporter.write_line(
        "| fault | tickets | callers connected | follow-ups sent once | calls ended | "
        "caller errors | fallback URL used | degraded callers (PIN unchecked) | "
        "slowest webhook | all settled after the fault |"
    )
    terminalreporter.write_line("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        terminalreporter.write_line(
            f"| {row['fault']} | {row['tickets']} | {row['connected']} | {row['followups']} "
            f"| {row['ended']} | {row['errors']} | {row['fallbacks']} "
            f"| {row['degraded']} ({row['unverified']}) | {row['slowest']:.0f} ms "
            f"| {row['recovered']:.1f} s |"
        )
