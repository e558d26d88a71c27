"""A newcomer's first hour: `make run` with the simulator's port taken, `hotline call` from a
second terminal with no settings, and stopping the service with SIGTERM or SIGINT."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kernel.config import DEFAULT_SIMULATOR_PORT

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env["HOTLINE_DATA_DIR"] = str(tmp_path / "var")
    return env


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


@contextlib.contextmanager
def _port_held(port: int) -> Iterator[None]:
    """This test listening on `port` for as long as the block runs.

    Held by the test itself, not merely "found taken": a port some other program holds can
    be let go at any moment, and the service would then rightly find it free.
    """
    holder = socket.socket()
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                holder.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # another program on this machine has it for now
        holder.listen()
        yield
    finally:
        holder.close()


def _wait_healthy(port: int, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    process.kill()
    raise AssertionError(log.read_text())


def _stop(process: subprocess.Popen[str], signum: int) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise


def test_call_says_how_to_start_the_hotline_when_it_is_not_running(tmp_path: Path) -> None:
    env = {**_base_env(tmp_path), "PORT": str(_free_port())}
    result = _hotline(["call", "--keys", "12345678,1"], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: the hotline is not running: start it with make run"
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_taken_simulator_port_is_replaced_and_call_finds_the_ports_itself(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**_base_env(tmp_path), "PORT": str(port)}
    log_path = tmp_path / "service.log"
    with _port_held(DEFAULT_SIMULATOR_PORT), log_path.open("w") as log:
        # Started as a shell starts a background job: with SIGINT ignored.
        service = subprocess.Popen(
            [sys.executable, "-m", "hotline", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            _wait_healthy(port, service, log_path)
            output = log_path.read_text()
            assert f"Port {DEFAULT_SIMULATOR_PORT} (the phone simulator's default) is taken" in (
                output
            )
            recorded = json.loads((tmp_path / "var" / "service.json").read_text())
            assert recorded["port"] == port
            assert recorded["simulator_port"] != DEFAULT_SIMULATOR_PORT
            assert f"Phone simulator (Twilio stand-in) port: {recorded['simulator_port']}" in (
                output
            )

            # A second terminal: no PORT, no SIMULATOR_PORT, just the same data directory.
            second = _base_env(tmp_path)
            demo = _hotline(["demo", "--json"], second, tmp_path)
            assert demo.returncode == 0, demo.stderr
            pin = next(a["pin"] for a in json.loads(demo.stdout)["accounts"] if a["entitled"])
            phoned = _hotline(["call", "--keys", f"{pin},1"], second, tmp_path)
            assert phoned.returncode == 0, phoned.stdout + phoned.stderr
            assert "Severity 1, Acme Corp" in phoned.stdout
        finally:
            code = _stop(service, signal.SIGINT)
    output = log_path.read_text()
    assert code == 0, output
    assert "Stopped." in output and "Traceback" not in output
    assert not (tmp_path / "var" / "service.json").exists()


@pytest.mark.slow
def test_sigterm_to_make_run_stops_everything_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {**_base_env(tmp_path), "PORT": str(port), "SIMULATOR_PORT": str(_free_port())}
    log_path = tmp_path / "make.log"
    with log_path.open("w") as log:
        service = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(REPO), "run"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_healthy(port, service, log_path)
        worker_pid = int((tmp_path / "var" / "worker.pid").read_text())
    finally:
        code = _stop(service, signal.SIGTERM)
    output = log_path.read_text()
    # GNU make passes SIGTERM to the service, waits for it, then ends as killed by the signal
    # it was sent (as make always does); the service below it stopped cleanly.
    assert code in (0, -signal.SIGTERM), output
    assert "Stopped." in output and "Traceback" not in output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{worker_pid}").exists():
        state = Path(f"/proc/{worker_pid}/stat").read_text().split()[2]
        if state == "Z":
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{worker_pid}").exists() or (
        Path(f"/proc/{worker_pid}/stat").read_text().split()[2] == "Z"
    )
