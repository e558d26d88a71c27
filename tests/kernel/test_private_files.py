"""Data files other users of the machine cannot read: 0600 files in a 0700 data directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text

from hotline import create_app
from hotline.embedded_redis import EmbeddedRedis


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022 umask, under which files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "left-by-older-version"])
def test_sqlite_database_wal_and_secrets_are_private(
    app_config: dict[str, Any], tmp_path: Path, existing: bool
) -> None:
    data_dir = tmp_path / "data"
    db_file = data_dir / "kernel.db"
    if existing:
        data_dir.mkdir(mode=0o755)
        db_file.touch()
        os.chmod(db_file, 0o644)
    config = {**app_config, "HOTLINE_DATA_DIR": str(data_dir), "DATABASE_URL": ""}
    config.pop("SECRET_KEY")
    config.pop("PIN_PEPPER")
    app = create_app(config)
    engine = app.extensions["engine"]
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE note (body TEXT)"))
            conn.execute(text("INSERT INTO note VALUES ('a caller number')"))
        with engine.connect() as conn:
            # While a connection is open the write-ahead log and shared memory exist.
            conn.execute(text("SELECT count(*) FROM note"))
            files = [db_file, data_dir / "kernel.db-wal", data_dir / "kernel.db-shm"]
            assert {path.name: _mode(path) for path in files} == {
                path.name: 0o600 for path in files
            }
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "secrets.json") == 0o600
    finally:
        app.extensions["dialer"].close()
        engine.dispose()


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_data_directory_is_tightened(
    app_config: dict[str, Any], tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    (data_dir / "secrets.json").write_text(
        '{"SECRET_KEY": "k", "PIN_PEPPER": "p", "TWILIO_AUTH_TOKEN": "t"}'
    )
    os.chmod(data_dir / "secrets.json", 0o644)
    app = create_app({**app_config, "HOTLINE_DATA_DIR": str(data_dir)})
    try:
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "secrets.json") == 0o600
    finally:
        app.extensions["dialer"].close()
        app.extensions["engine"].dispose()


@pytest.mark.usefixtures("loose_umask")
def test_embedded_redis_keeps_its_files_private(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    stale = directory / "dump.rdb.old"
    stale.write_bytes(b"")
    os.chmod(stale, 0o644)
    with EmbeddedRedis(directory) as server:
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        client.set("job", "call +15551234567 back")
        client.save()  # the RDB snapshot, beside the append-only file
        client.close()
        written = [path for path in directory.rglob("*") if not path.is_socket()]
        assert any(path.name.endswith(".aof") for path in written)
        assert any(path.name == "dump.rdb" for path in written)
        modes = {path.name: _mode(path) for path in written}
        assert modes == {path.name: (0o700 if path.is_dir() else 0o600) for path in written}
        assert _mode(directory) == 0o700
