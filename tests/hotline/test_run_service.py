"""`hotline run` starts the whole service on embedded defaults and stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

# A clean stop takes a few seconds; its own bounds (worker 15 s, then Redis 10 s) fit in this
# even on a machine loaded by other work, where a stop was seen to take over 30 s.
STOP_WAIT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _hotline(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_run_serves_a_demo_call_then_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        {
            "PORT": str(port),
            "HOTLINE_DATA_DIR": str(tmp_path / "var"),
            # Where `hotline call` will serve Twilio's REST API, and the service will call it.
            "SIMULATOR_PORT": str(_free_port()),
            # The email intake's SMTP server (not 2525: tests run side by side).
            "SMTP_INTAKE_PORT": str(smtp_port := _free_port()),
        }
    )
    # Output to a file, not an unread pipe: a chatty service can never block on a full pipe.
    log_path = tmp_path / "service.log"
    log = log_path.open("w")
    service = subprocess.Popen(
        [sys.executable, "-m", "hotline", "run"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200
        assert health.json()["checks"] == {"database": "ok", "redis": "ok"}
        # The development server names no software version an attacker could look up.
        assert health.headers["Server"] == "hotline"
        redis_socket = tmp_path / "var" / "redis" / "redis.sock"
        assert redis_socket.exists()
        # The README's "try it": demo data, then a scripted call through the phone simulator.
        demo = _hotline(["demo", "--json"], env, tmp_path)
        assert demo.returncode == 0, demo.stderr
        pin = next(a["pin"] for a in json.loads(demo.stdout)["accounts"] if a["entitled"])
        phoned = _hotline(["call", "--keys", f"{pin},1"], env, tmp_path)
        assert phoned.returncode == 0, phoned.stdout + phoned.stderr
        assert "Severity 1, Acme Corp" in phoned.stdout
        assert "engineer connected:" in phoned.stdout and "engineer connected: never" not in (
            phoned.stdout
        )
        # The README's email "try it": a message without a PIN is answered with how to get one
        # (printed by the worker, as no SMTP_URL is set).
        mailed = _hotline(
            ["mail", "send", "--from", "ann@example.test", "--subject", "Printer question"],
            env,
            tmp_path,
        )
        assert mailed.returncode == 0, mailed.stdout + mailed.stderr
        deadline = time.monotonic() + 30
        while "we need your support PIN" not in log_path.read_text():
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
    finally:
        _stop(service)
        log.close()
    output = log_path.read_text()
    assert service.returncode == 0, output
    assert f"POST http://localhost:{port}/ivr/voice" in output
    assert f"Email intake (SMTP): 127.0.0.1:{smtp_port} for support@localhost" in output
    assert "Traceback" not in output
    assert "Stopped." in output
    assert not redis_socket.exists()
    # Nothing it left behind is readable by another user of the machine.
    data_dir = tmp_path / "var"
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for path in data_dir.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path


def _start_run(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    with (tmp_path / "service.log").open("a") as log:
        # The child keeps its own copy of the descriptor.
        service = subprocess.Popen(
            [sys.executable, "-m", "hotline", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return service
        except requests.ConnectionError:
            time.sleep(0.2)
    service.kill()
    raise AssertionError((tmp_path / "service.log").read_text())


def _stop(service: subprocess.Popen[str]) -> None:
    """Ctrl-C the run and wait for it; a run still there is made to print its threads' stacks."""
    service.send_signal(signal.SIGINT)
    try:
        service.wait(timeout=STOP_WAIT)
    except subprocess.TimeoutExpired:
        # `hotline run` dumps every thread's stack on SIGUSR1: the log then says where it hung.
        service.send_signal(signal.SIGUSR1)
        time.sleep(2)
        service.kill()
        service.wait(10)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return True
    return state == "Z"  # a zombie has exited; only its parent's wait is missing


@pytest.mark.slow
def test_a_killed_run_leaves_no_redis_or_worker_and_a_restart_comes_up(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({"PORT": str(port), "HOTLINE_DATA_DIR": str(tmp_path / "var")})
    service = _start_run(tmp_path, env, port)
    data = tmp_path / "var"
    worker_pid = int((data / "worker.pid").read_text())
    redis_client = redis.Redis(unix_socket_path=str(data / "redis" / "redis.sock"))
    redis_pid = int(redis_client.info("server")["process_id"])
    service.kill()  # SIGKILL: no handler, no atexit, no finally runs
    service.wait(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (_gone(worker_pid) and _gone(redis_pid)):
        time.sleep(0.1)
    assert _gone(redis_pid), "the embedded Redis outlived its hotline run"
    assert _gone(worker_pid), "the worker outlived its hotline run"
    again = _start_run(tmp_path, env, port)
    _stop(again)  # never leaves a running child to a later test's garbage
    assert again.returncode == 0, (tmp_path / "service.log").read_text()
