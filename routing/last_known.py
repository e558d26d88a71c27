"""The engineers the last routing plan named, kept in memory and on disk for degraded mode.

When the database is unreachable nothing can load today's schedules; a severity-1 caller is
then rung through to the phones of the most recent plan this server (or, after a restart,
any server sharing the data directory) loaded. Refreshed on every successful load.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class LastKnown:
    """The last-known ring order of one app, in memory and (if `path`) on disk."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._phones: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def remember(self, phones: list[str] | tuple[str, ...]) -> None:
        """A plan was loaded: these phones, in ring order, are who degraded mode rings."""
        current = tuple(dict.fromkeys(phone for phone in phones if phone))
        if not current or current == self._phones:
            return
        with self._lock:
            self._phones = current
            if self.path is None:
                return
            try:
                temporary = self.path.with_suffix(".tmp")
                temporary.write_text(json.dumps(list(current)))
                os.chmod(temporary, 0o600)
                os.replace(temporary, self.path)
            except OSError:
                pass  # memory still has it; the disk copy only helps a restarted server

    def recall(self) -> tuple[str, ...]:
        """The last-known phones (memory first, then the copy on disk)."""
        if self._phones or self.path is None:
            return self._phones
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return ()
        return tuple(str(phone) for phone in stored if isinstance(phone, str))
