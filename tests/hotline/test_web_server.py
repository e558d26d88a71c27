"""The web servers as Twilio and an attacker meet them: size limit, Server header, plain errors."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, request
from flask.testing import FlaskClient

from hotline.devserver import make_dev_server

ROOT = Path(__file__).resolve().parents[2]
FIFTY_MB = 50_000_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def dev_server(app: Flask) -> Iterator[str]:
    """The test app served by the development server `hotline run` uses, in a thread."""
    server = make_dev_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def procfile_gunicorn(app_config: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """Gunicorn started exactly as the Procfile's `web` line says, on the test database."""
    (line,) = [ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:")]
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **{k: v for k, v in os.environ.items() if k in ("HOME", "LANG")},
        **{k: str(v) for k, v in app_config.items()},
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            ["/bin/sh", "-c", line.removeprefix("web:").strip()],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        # The whole session: `sh -c` may not exec gunicorn, and terminating only the shell
        # would leave gunicorn running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _send_huge_form(address: str, path: str, signed: bool) -> tuple[bytes, float]:
    """Announce a 50 MB form but send only its first bytes; the reply and how long it took."""
    host, port = address.split(":")
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: {address}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {FIFTY_MB}",
    ]
    if signed:
        headers.append("X-Twilio-Signature: bm90IGEgcmVhbCBzaWduYXR1cmU=")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + b"CallSid=CA123&From=%2B1")
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply, time.monotonic() - started


def _status_and_headers(reply: bytes) -> tuple[int, dict[str, str]]:
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "with-signature"])
@pytest.mark.parametrize("path", ["/ivr/voice", "/ivr/status", "/notify/status"])
def test_a_50_mb_webhook_is_refused_before_its_body_is_read(
    dev_server: str, caplog: pytest.LogCaptureFixture, path: str, signed: bool
) -> None:
    caplog.set_level(logging.INFO)
    reply, seconds = _send_huge_form(dev_server, path, signed)
    status, _headers = _status_and_headers(reply)
    assert status == 413
    # Only a few bytes of the 50 MB were ever sent: a server reading the body would still wait.
    assert seconds < 5
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in caplog.records if "refused a 50000000-byte" in r.getMessage()]


def test_a_form_under_the_limit_still_reaches_the_signature_check(client: FlaskClient) -> None:
    response = client.post("/ivr/voice", data={"CallSid": "CA1", "Padding": "x" * 400_000})
    assert response.status_code == 403


def test_max_content_length_is_a_setting(app_config: dict[str, Any]) -> None:
    from hotline import create_app

    app = create_app({**app_config, "MAX_CONTENT_LENGTH": "2048"})
    try:
        response = app.test_client().post("/ivr/voice", data={"CallSid": "CA1", "X": "x" * 4096})
        assert response.status_code == 413
        assert response.mimetype == "text/plain"
    finally:
        app.extensions["dialer"].close()
        app.extensions["engine"].dispose()


def test_a_route_can_raise_its_own_limit(app: Flask, client: FlaskClient) -> None:
    # How a later upload route (the customer portal's attachments) takes more than 1 MB.
    def upload() -> str:
        request.max_content_length = 8 * 1024 * 1024
        return str(len(request.get_data()))

    app.add_url_rule("/upload-example", view_func=upload, methods=["POST"])
    two_mb = b"x" * (2 * 1024 * 1024)
    assert client.post("/upload-example", data=two_mb).get_data(as_text=True) == str(len(two_mb))
    assert client.post("/ivr/voice", data=two_mb).status_code == 413


def test_development_server_announces_no_version(dev_server: str) -> None:
    response = requests.get(f"http://{dev_server}/healthz", timeout=10)
    assert response.headers["Server"] == "hotline"
    assert not re.search(r"\d", response.headers["Server"])


def test_development_server_answers_a_malformed_request_in_one_plain_line(
    dev_server: str,
) -> None:
    host, port = dev_server.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # A header line longer than http.server accepts: refused before the app sees it.
        conn.sendall(b"POST /ivr/voice HTTP/1.1\r\nX-Junk: " + b"j" * 70_000 + b"\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    status, headers = _status_and_headers(reply)
    body = reply.split(b"\r\n\r\n", 1)[1].decode()
    assert status == 431
    assert headers["server"] == "hotline"
    assert headers["content-type"].startswith("text/plain")
    assert body.count("\n") == 1 and "<" not in body


def test_procfile_gunicorn_announces_no_version_and_refuses_big_bodies(
    procfile_gunicorn: str,
) -> None:
    response = requests.get(f"http://{procfile_gunicorn}/healthz", timeout=10)
    server = response.headers.get("Server", "")
    assert not re.search(r"[\d/]", server), server
    reply, seconds = _send_huge_form(procfile_gunicorn, "/ivr/voice", signed=False)
    assert _status_and_headers(reply)[0] == 413
    assert seconds < 5


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/ivr/voice", 405),
        ("PUT", "/ivr/status", 405),
        ("POST", "/ivr/no-such-step", 404),
        ("GET", "/notify/status", 405),
        ("POST", "/wp-login.php", 404),
    ],
)
def test_webhook_paths_answer_errors_in_one_plain_line(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert body.count("\n") == 1 and "<" not in body and "werkzeug" not in body.lower()
    if status == 405:
        assert "POST" in response.headers["Allow"]


def test_an_unexpected_exception_is_a_plain_500_without_a_traceback(
    app: Flask, client: FlaskClient
) -> None:
    def explode() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", view_func=explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/explode")
    assert response.status_code == 500
    assert response.get_data(as_text=True) == "500 Internal Server Error\n"
