"""`hotline mail-intake`, the production process (the Procfile's `mail:` line)."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from tests.mailin.conftest import SUPPORT, email, inbound
from tests.notify.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_intake_process_stores_mail_and_stops_cleanly(
    app_config: dict[str, Any], app: Any, session: Session, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({k: str(v) for k, v in app_config.items()})
    log_path = tmp_path / "intake.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline", "mail-intake", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while f"smtp://127.0.0.1:{port}" not in log_path.read_text():
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.send_message(email("ann@acme.test", "Hello"))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    output = log_path.read_text()
    assert process.returncode == 0, output
    assert f"for {SUPPORT}" in output and "Mail intake stopped." in output
    (row,) = inbound(session)
    assert row.sender == "ann@acme.test" and row.source == "smtp"
