"""`hotline worker`: N forked RQ worker processes plus the outbox relay, supervised."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
import traceback
from types import FrameType

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from hotline.app import settings_of
from hotline.queue import NOTIFY_QUEUE, get_queue
from notify.relay import RelayThread, relay_once, sweep_once
from notify.senders import sms_sender
from notify.settings import notify_settings

log = logging.getLogger(__name__)
STOP_TIMEOUT = 30.0
RESTART_DELAY = 1.0


def _work(app: Flask, burst: bool) -> int:
    """Body of one forked worker process; returns its exit code."""
    from hotline.worker import build_worker

    _die_with_parent()
    # Forked: never reuse the parent's pooled database connections.
    app.extensions["engine"].dispose(close=False)
    try:
        # Build this process's SMS client now, so the first message after a start is not slower.
        sms_sender(settings_of(app), notify_settings(app))
        build_worker(app).work(burst=burst, with_scheduler=True, logging_level="INFO")
        return 0
    except Exception:
        traceback.print_exc()
        return 1


def _die_with_parent() -> None:
    # A SIGKILLed supervisor must not leave orphan workers behind (Linux only, best effort).
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _fork(app: Flask, burst: bool) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = _work(app, burst)
        finally:
            # _exit: the parent's atexit hooks (e.g. stopping embedded Redis) are not ours to run.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def run_burst(app: Flask, count: int) -> None:
    """Relay what is due, drain it with `count` workers, repeat until nothing is due."""
    while True:
        try:
            sweep_once(app)
            moved = relay_once(app)
        except (RedisError, SQLAlchemyError) as exc:
            log.warning("notify relay: %s", exc)
            return
        queued = get_queue(NOTIFY_QUEUE, app).count
        if moved == 0 and queued == 0:
            return
        pids = [_fork(app, burst=True) for _ in range(count)]
        for pid in pids:
            os.waitpid(pid, 0)


class Supervisor:
    """Keeps `count` worker processes alive and the relay thread running until stopped."""

    def __init__(self, app: Flask, count: int) -> None:
        self.app = app
        self.count = count
        self.children: dict[int, float] = {}
        self.stopping = False
        self.forward = False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Ctrl-C reaches the whole process group, children included: forwarding it again
        # would be a second signal, which RQ treats as "kill the job now". SIGTERM we forward.
        self.stopping = True
        self.forward = self.forward or signum == signal.SIGTERM

    def run(self) -> None:
        """Run until SIGINT or SIGTERM, then shut the workers down warm."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        # Fork before any thread starts: a fork copies only the calling thread.
        for _ in range(self.count):
            self.children[_fork(self.app, burst=False)] = time.monotonic()
        relay = RelayThread(self.app)
        relay.start()
        print(f"[notify] {self.count} worker(s) and the outbox relay are running", flush=True)
        restart_at: list[float] = []
        try:
            while not self.stopping:
                self._reap(restart_at)
                now = time.monotonic()
                while restart_at and restart_at[0] <= now and not self.stopping:
                    restart_at.pop(0)
                    self.children[_fork(self.app, burst=False)] = now
                time.sleep(0.1)
        finally:
            relay.stop()
            self._shutdown()

    def _reap(self, restart_at: list[float]) -> None:
        for pid in list(self.children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del self.children[pid]
                log.warning("worker %s exited (%s); restarting it", pid, status)
                # A worker quits when Redis goes away; a pause keeps restarts from spinning.
                restart_at.append(time.monotonic() + RESTART_DELAY)

    def _shutdown(self) -> None:
        if self.forward:
            for pid in self.children:
                _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    del self.children[pid]
            time.sleep(0.05)
        for pid in self.children:
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
