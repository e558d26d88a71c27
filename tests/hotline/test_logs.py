"""Log lines a caller cannot forge: control characters from a request are escaped."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hotline.logs import FORMAT, OneLineFormatter, escape_controls

ROOT = Path(__file__).resolve().parents[2]
FORGED_SID = "CA1\r\n2026-01-01 00:00:00 INFO ivr.views: PIN accepted\x1b[2K\x1b[31m\u2028x"


def _record(msg: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    return logging.LogRecord(
        "ivr.views",
        logging.WARNING,
        __file__,
        1,
        msg,
        args,
        sys.exc_info() if exc_info else None,
    )


def test_a_forged_callsid_stays_on_its_own_line() -> None:
    line = OneLineFormatter(FORMAT).format(_record("refused request (CallSid %s)", FORGED_SID))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
    assert "CallSid CA1\\r\\n2026-01-01" in line
    assert "\\x1b[31m" in line


def test_a_traceback_keeps_its_lines_and_loses_its_escapes() -> None:
    try:
        raise ValueError("bad\x1b[31m value")
    except ValueError:
        record = _record("webhook failed for CallSid %s", "CA1\nforged", exc_info=True)
    text = OneLineFormatter(FORMAT).format(record)
    first, *rest = text.split("\n")
    assert first.endswith("webhook failed for CallSid CA1\\nforged")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ValueError: bad\\x1b[31m value"


def test_printable_text_is_left_alone() -> None:
    assert escape_controls("Ticket HL-12 for Zoë, +44 20 7946 0000") == (
        "Ticket HL-12 for Zoë, +44 20 7946 0000"
    )


def test_the_app_logs_an_unsigned_forged_callsid_on_one_line(app_config: dict[str, Any]) -> None:
    # A fresh interpreter: the app installs its own logging there, as under gunicorn.
    env = {k: str(v) for k, v in app_config.items()}
    script = (
        "from hotline import create_app\n"
        "import sys\n"
        "client = create_app().test_client()\n"
        "reply = client.post('/ivr/voice', data={'CallSid': sys.argv[1]})\n"
        "assert reply.status_code == 403, reply.status_code\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, FORGED_SID],
        env={**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    refused = [line for line in lines if "refused unsigned or forged" in line]
    assert len(refused) == 1
    # The forged text is either escaped on the refusal's own line or (since an invalid CallSid
    # is never logged raw) absent; it never starts a line of its own.
    assert "\n2026-01-01" not in refused[0]
    assert not [line for line in lines if line.startswith("2026-01-01")]
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
