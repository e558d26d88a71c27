"""Files only the hotline's own user may read: 0700 directories, 0600 files."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
DIR_MODE = 0o700
FILE_MODE = 0o600


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:
        # Someone else's file: say so rather than refuse to start.
        log.warning("cannot make %s private (mode %o): not its owner", path, mode)


def private_dir(path: Path) -> Path:
    """Make `path` a directory only its owner can open (made if missing, tightened if not)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 when it is missing (no moment readable by others)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def tighten(*paths: Path) -> None:
    """Set mode 0600 on each of `paths` that exists (files made by an earlier version)."""
    for path in paths:
        _chmod(path, FILE_MODE)


def tighten_tree(directory: Path) -> None:
    """Mode 0700 on `directory` and the directories under it, 0600 on every file in it."""
    private_dir(directory)
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            _chmod(Path(root) / name, DIR_MODE)
        for name in files:
            path = Path(root) / name
            if not path.is_socket():
                _chmod(path, FILE_MODE)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, a file only its owner can read (made 0600 before writing)."""
    private_file(path)
    tighten(path)
    path.write_text(text)
