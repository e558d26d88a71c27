"""`hotline worker`: rq.WorkerPool runs the RQ workers; the outbox relay runs beside them."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import sys
import threading
import time
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool
from sqlalchemy.exc import SQLAlchemyError

from hotline.maintenance import MaintenanceLoop
from hotline.worker import AppWorker
from kernel.config import settings_of
from kernel.queue import (
    HEARTBEAT_FIELD,
    NOTIFY_QUEUE,
    get_queue,
    get_redis,
)
from kernel.services import services_of
from notify.relay import RelayLoop, relay_once, sweep_once
from notify.senders import sms_sender

log = logging.getLogger(__name__)
RELAY_STOP_TIMEOUT = 10.0
# WorkerPool forks its workers; so do we for the relay (the app is built once, in the parent).
fork_context = get_context("fork")


class NotifyWorker(AppWorker):
    """An AppWorker that readies its freshly forked process before it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # WorkerPool builds the worker inside the forked child: this runs there, first.
        prepare_forked_child(self.app)
        super().__init__(*args, **kwargs)

    def register_birth(self) -> None:
        # Extends an RQ method (run once, when the worker's hash is made): jobs run in this
        # process, so RQ's own heartbeat pauses during a job; this one doesn't, and stops the
        # moment the process dies, so the sweeper frees its claim in seconds instead of
        # waiting out NOTIFY_CLAIM_TIMEOUT.
        super().register_birth()  # type: ignore[no-untyped-call]
        threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()

    def _beat(self) -> None:
        every = settings_of(self.app).notify.heartbeat_seconds
        while True:
            with contextlib.suppress(RedisError, OSError):
                self.connection.hset(self.key, HEARTBEAT_FIELD, str(time.time()))
            time.sleep(every)


class NotifyPool(WorkerPool):
    """RQ's pool of in-process NotifyWorkers on the notify queue, plus the relay process."""

    def __init__(self, app: Flask, count: int) -> None:
        super().__init__(
            [NOTIFY_QUEUE],
            connection=get_redis(app),
            num_workers=count,
            worker_class=NotifyWorker.bound_to(app),
            serializer=JSONSerializer,
        )
        self.app = app
        self.relay: BaseProcess | None = None
        self.maintenance: BaseProcess | None = None

    def start_relay(self) -> None:
        """Fork the relay and maintenance processes (the pool has no threads: forking is safe)."""
        self.relay = fork_context.Process(target=_relay_main, args=(self.app,), name="notify-relay")
        self.relay.start()
        self._start_maintenance()

    def _start_maintenance(self) -> None:
        self.maintenance = fork_context.Process(
            target=_maintenance_main, args=(self.app,), name="maintenance"
        )
        self.maintenance.start()

    def check_workers(self, respawn: bool = True) -> None:
        """RQ's once-a-second check of its workers, extended to the relay and maintenance."""
        super().check_workers(respawn)
        if not respawn or self.status == self.Status.STOPPED:
            return
        relay, maintenance = self.relay, self.maintenance
        if relay and not relay.is_alive():
            log.warning("notify relay exited (%s); restarting it", relay.exitcode)
            self.relay = fork_context.Process(
                target=_relay_main, args=(self.app,), name="notify-relay"
            )
            self.relay.start()
        if maintenance and not maintenance.is_alive():
            log.warning("maintenance exited (%s); restarting it", maintenance.exitcode)
            self._start_maintenance()

    def stop_relay(self) -> None:
        """Stop the relay and maintenance after their round; kill them if they do not stop."""
        running = [p for p in (self.relay, self.maintenance) if p is not None and p.is_alive()]
        # Both are asked at once and share one deadline, so a stop takes one timeout, not two.
        for process in running:
            process.terminate()
        deadline = time.monotonic() + RELAY_STOP_TIMEOUT
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def run(app: Flask, count: int) -> None:
    """Run `count` workers and the relay until SIGINT or SIGTERM; workers finish their job."""
    pool = NotifyPool(app, count)
    pool.start_relay()
    print(f"[notify] {count} worker(s) and the outbox relay are running", flush=True)
    try:
        # RQ's pool: SIGINT/SIGTERM ask every worker for a warm shutdown (a worker ignores the
        # duplicate that Ctrl-C also sends it), then start() returns once all have exited.
        pool.start(burst=False, logging_level="INFO")
    finally:
        pool.stop_relay()


def run_burst(app: Flask, count: int) -> None:
    """Relay what is due, drain it with `count` workers, repeat until nothing is due."""
    while True:
        try:
            sweep_once(services_of(app))
            moved = relay_once(services_of(app))
        except (RedisError, SQLAlchemyError) as exc:
            log.warning("notify relay: %s", exc)
            return
        if moved == 0 and get_queue(NOTIFY_QUEUE, app).count == 0:
            return
        NotifyPool(app, count).start(burst=True, logging_level="INFO")


def prepare_forked_child(app: Flask) -> None:
    """Make a freshly forked worker or relay process safe and quick to start."""
    _die_with_parent()
    # Never reuse the parent's pooled database connections; close=False leaves them to it.
    app.extensions["engine"].dispose(close=False)
    # Build this process's SMS client now, so the first message after a start is not slower.
    sms_sender(settings_of(app), settings_of(app).notify)


def _relay_main(app: Flask) -> None:
    prepare_forked_child(app)
    loop = RelayLoop(services_of(app))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        loop.stop()

    # Ctrl-C reaches the relay directly; SIGTERM comes from the pool when it has stopped.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    loop.run()


def _maintenance_main(app: Flask) -> None:
    prepare_forked_child(app)
    loop = MaintenanceLoop(app)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    loop.run()


def _die_with_parent() -> None:
    # A SIGKILLed pool must not leave orphans behind (Linux only, best effort): SIGTERM is the
    # warm shutdown of a worker and the clean stop of the relay.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
