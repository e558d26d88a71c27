"""Where a running `hotline run` listens, written to the data directory for `hotline call`.

`hotline run` writes service.json when it starts and removes it when it stops; `hotline call`
reads it, so a second terminal needs no PORT or SIMULATOR_PORT of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from kernel.private_files import write_private

FILE_NAME = "service.json"
NOT_RUNNING = "the hotline is not running: start it with make run"


@dataclass(frozen=True)
class RunningService:
    """The web port, the phone simulator's port and the process serving them."""

    host: str
    port: int
    simulator_port: int
    pid: int
    # What the service checks Twilio signatures against: the simulator must sign for it.
    public_base_url: str

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


def write(data_dir: Path, service: RunningService) -> None:
    """Record where the service listens (private to its user, like the rest of data_dir)."""
    write_private(data_dir / FILE_NAME, json.dumps(asdict(service)))


def remove(data_dir: Path) -> None:
    """Forget the service (it is stopping)."""
    (data_dir / FILE_NAME).unlink(missing_ok=True)


def read(data_dir: Path) -> RunningService | None:
    """The service recorded in `data_dir`, if its process is still alive."""
    try:
        raw = json.loads((data_dir / FILE_NAME).read_text())
        found = RunningService(
            host=str(raw["host"]),
            port=int(raw["port"]),
            simulator_port=int(raw["simulator_port"]),
            pid=int(raw["pid"]),
            public_base_url=str(raw["public_base_url"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        # A run that was killed outright left its file behind.
        return None
    except PermissionError:
        pass
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Can a server bind `port` on `host` now?"""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the system's choice)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def answering(url: str) -> bool:
    """Does something accept connections at the service URL's host and port?"""
    host, _, port = url.split("://", 1)[-1].split("/", 1)[0].rpartition(":")
    with (
        contextlib.suppress(OSError, ValueError),
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=2),
    ):
        return True
    return False
