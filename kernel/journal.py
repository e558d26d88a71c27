"""A durable local journal of Twilio webhooks the database could not take, replayed later.

Why a file and not a Redis stream: the journal is needed exactly when a part is failing, and
Redis is one of the parts that fails (killed, hung, or unreachable over the same network as
the database). An append-only file on the web server's own disk, written with one `write` and
an `fsync` under an exclusive `flock`, depends on nothing but that disk, costs about a
millisecond, and survives a SIGKILL of the process that wrote it. Gunicorn workers share the
file; the lock keeps every entry one whole line, in arrival order.

The replayer (in the worker) takes the file over by renaming it, so writers start a new one,
then posts each entry back through the live webhook path (same signature, same idempotency
keys), remembering how far it got in a sidecar file so that a crash resumes, not repeats.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kernel.private_files import private_dir, write_private

JOURNAL_NAME = "webhooks.jsonl"
TAKEN_PREFIX = "replaying-"
REPLAY_HEADER = "X-Hotline-Journal-At"


@dataclass(frozen=True)
class Entry:
    """One webhook as Twilio sent it: when, where (path and query), the form and its signature."""

    at: datetime
    path: str
    form: dict[str, str]
    signature: str

    def to_line(self) -> bytes:
        record = {
            "at": self.at.isoformat(),
            "path": self.path,
            "form": self.form,
            "signature": self.signature,
        }
        return (json.dumps(record, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_line(cls, line: bytes) -> Entry:
        record = json.loads(line)
        return cls(
            at=datetime.fromisoformat(record["at"]),
            path=record["path"],
            form=dict(record["form"]),
            signature=record["signature"],
        )


class Journal:
    """The journal directory of one data directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def path(self) -> Path:
        return self.directory / JOURNAL_NAME

    def append(self, entry: Entry) -> None:
        """Write `entry` durably (fsync) before returning; raise OSError if the disk refuses."""
        private_dir(self.directory)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, entry.to_line())
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock

    def take(self) -> list[Path]:
        """Hand the current journal to the replayer (writers start a new file); oldest first."""
        if self.path.exists():
            taken = self.directory / f"{TAKEN_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S%f}.jsonl"
            fd = os.open(self.path, os.O_WRONLY)
            try:
                # Under the writers' lock, so no entry is half-written when the file moves.
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.rename(self.path, taken)
            finally:
                os.close(fd)
        return sorted(self.directory.glob(f"{TAKEN_PREFIX}*.jsonl"))

    def pending(self) -> int:
        """Entries not yet replayed (journal plus taken files), for health checks and benches."""
        count = 0
        for path in [self.path, *self.directory.glob(f"{TAKEN_PREFIX}*.jsonl")]:
            if path.exists():
                done = _done_offset(path)
                with path.open("rb") as handle:
                    handle.seek(done)
                    count += sum(1 for line in handle if line.strip())
        return count


def _offset_file(path: Path) -> Path:
    return path.with_suffix(".done")


def _done_offset(path: Path) -> int:
    try:
        return int(_offset_file(path).read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def entries(path: Path) -> Iterator[tuple[int, Entry]]:
    """The entries of a taken file not replayed yet, each with the offset just after it."""
    with path.open("rb") as handle:
        handle.seek(_done_offset(path))
        while True:
            line = handle.readline()
            if not line:
                return
            if not line.endswith(b"\n"):
                return  # a torn last line (the writer died mid-write): never acknowledged
            if line.strip():
                yield handle.tell(), Entry.from_line(line)


def mark_done(path: Path, offset: int) -> None:
    """Remember that everything before `offset` in `path` was applied."""
    sidecar = _offset_file(path)
    temporary = sidecar.with_suffix(".tmp")
    write_private(temporary, str(offset))
    os.replace(temporary, sidecar)


def finish(path: Path) -> None:
    """A taken file fully replayed: remove it and its sidecar."""
    path.unlink(missing_ok=True)
    _offset_file(path).unlink(missing_ok=True)


def replay(journal: Journal, apply: Callable[[Entry], bool]) -> int:
    """Apply every pending entry in order; stop at the first one `apply` could not take."""
    applied = 0
    for path in journal.take():
        for offset, entry in entries(path):
            if not apply(entry):
                return applied
            mark_done(path, offset)
            applied += 1
        finish(path)
    return applied


def replay_stamp(at: datetime, signature: str, key: str) -> str:
    """The header value that tells the live path a replayed request's original time."""
    stamp = at.isoformat()
    mac = hmac.new(key.encode(), f"{stamp}|{signature}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp};{mac}"


def replayed_at(header: str | None, signature: str, key: str) -> datetime | None:
    """The original time a replay stamp carries, if its MAC is ours (else None: live now)."""
    if not header or ";" not in header:
        return None
    stamp, mac = header.rsplit(";", 1)
    expected = hmac.new(key.encode(), f"{stamp}|{signature}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def entry_of(path: str, form: Mapping[str, str], signature: str, at: datetime) -> Entry:
    """A journal entry for a request to `path` (with its query)."""
    return Entry(at=at, path=path, form=dict(form), signature=signature)
