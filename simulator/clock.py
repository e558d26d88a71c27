"""Discrete-event scheduler: one virtual clock, call legs as generators."""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sleep:
    """Command: resume the leg after `seconds` of virtual time."""

    seconds: float


@dataclass
class Fetch:
    """Command: run `fn` (an HTTP request) off the scheduler thread and resume with its result."""

    fn: Callable[[], Any]
    timeout: float | None = None


class FetchTimedOut:
    """Result sent back when a Fetch did not finish within its real-time budget."""


FETCH_TIMED_OUT = FetchTimedOut()

Command = Sleep | Fetch
Proc = Generator[Command, Any, Any]


class Terminated(Exception):
    """Thrown into every live task when a hard limit is hit."""


@dataclass
class Task:
    """A running generator; `pending` holds exceptions to throw at its next resumption."""

    gen: Proc
    name: str
    token: int = 0
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    pending: list[BaseException] = field(default_factory=list)
    value: Any = None


class Activity:
    """Counts requests arriving from outside the scheduler (the REST server) and when they ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inflight = 0
        self.last = 0.0

    def begin(self) -> None:
        with self._lock:
            self.inflight += 1
            self.last = time.monotonic()

    def end(self) -> None:
        with self._lock:
            self.inflight -= 1
            self.last = time.monotonic()


class Scheduler:
    """Owns virtual time; advances it only when nothing is in flight and a grace period passed."""

    def __init__(
        self,
        *,
        grace: float = 0.15,
        max_virtual: float = 4 * 3600,
        max_wall: float = 120.0,
        fetch_timeout: float = 15.0,
        parallel: bool = True,
    ) -> None:
        self.now = 0.0
        self.grace = grace
        # When the service can say it still has work under way (see Simulator.attach), time
        # waits for that instead of a long grace period: a short one covers thread hand-offs.
        self.service_busy: Callable[[], bool] | None = None
        self.busy_grace = 0.01
        self.max_virtual = max_virtual
        self.max_wall = max_wall
        self.fetch_timeout = fetch_timeout
        self.parallel = parallel
        self.activity = Activity()
        self.errors: list[str] = []
        self.tasks: list[Task] = []
        self.running = False
        self._heap: list[tuple[float, int, Task, int]] = []
        self._seq = itertools.count()
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._last_fetch_end = 0.0
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sim-fetch")
        self._terminating = False

    # -- API used from the scheduler thread -------------------------------------------------

    def spawn(self, gen: Proc, name: str, delay: float = 0.0) -> Task:
        """Start a task `delay` virtual seconds from now."""
        task = Task(gen, name)
        self.tasks.append(task)
        self._push(self.now + delay, task)
        return task

    def interrupt(self, task: Task, exc: BaseException) -> None:
        """Throw `exc` into the task at its current yield point, now."""
        if task.done:
            return
        task.pending.append(exc)
        self._push(self.now, task)

    def discard_pending(self, task: Task, kind: type[BaseException]) -> None:
        """Drop queued interrupts of one kind (the leg left the place that expected them)."""
        task.pending = [e for e in task.pending if not isinstance(e, kind)]

    # -- API usable from any thread ----------------------------------------------------------

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the scheduler thread at the current virtual time."""
        self._inbox.put(fn)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Run until every task finished and the outside world is quiet."""
        self.running = True
        self._terminating = False
        wall0 = time.monotonic()
        try:
            while True:
                self._drain_inbox()
                batch: list[tuple[Task, Fetch]] = []
                while self._heap and self._heap[0][0] <= self.now:
                    _, _, task, token = heapq.heappop(self._heap)
                    if task.done or token != task.token:
                        continue
                    fetch = self._step(task)
                    if fetch is not None:
                        batch.append((task, fetch))
                if batch:
                    self._run_fetches(batch)
                    continue
                if not self._wait_quiet(wall0):
                    continue
                self._purge_stale()
                if not self._heap:
                    live = [t for t in self.tasks if not t.done]
                    if live and not self._terminating:
                        self._terminate(f"stuck: {', '.join(t.name for t in live)} wait forever")
                        continue
                    break
                nxt = self._heap[0][0]
                if nxt > self.max_virtual and not self._terminating:
                    self.now = self.max_virtual
                    self._terminate(f"virtual time limit of {self.max_virtual:.0f} s reached")
                    continue
                if time.monotonic() - wall0 > self.max_wall and not self._terminating:
                    self._terminate(f"wall-clock limit of {self.max_wall:.0f} s reached")
                    continue
                self.now = nxt
            self.tasks = [t for t in self.tasks if not t.done]
        finally:
            self.running = False

    def close(self) -> None:
        """Release the fetch threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- internals ---------------------------------------------------------------------------

    def _push(self, at: float, task: Task) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), task, task.token))

    def _step(self, task: Task) -> Fetch | None:
        value, task.value = task.value, None
        try:
            cmd = task.gen.throw(task.pending.pop(0)) if task.pending else task.gen.send(value)
        except StopIteration as stop:
            task.done, task.result = True, stop.value
            return None
        except Terminated:
            task.done = True
            return None
        except Exception as exc:  # a bug in a leg must not kill the whole simulation
            task.done, task.error = True, exc
            self.errors.append(f"{task.name} crashed: {exc!r}")
            return None
        task.token += 1
        if isinstance(cmd, Sleep):
            self._push(self.now + max(cmd.seconds, 0.0), task)
            return None
        return cmd

    def _run_fetches(self, batch: list[tuple[Task, Fetch]]) -> None:
        # Requests due at the same virtual instant really go out together, so races in the
        # service (two engineers pressing 1 at once) are exercised for real.
        if self.parallel:
            futures = [self._pool.submit(f.fn) for _, f in batch]
            budget = max((f.timeout or self.fetch_timeout) for _, f in batch)
            wait_futures(futures, timeout=budget)
            results = [fu.result() if fu.done() else FETCH_TIMED_OUT for fu in futures]
        else:
            results = [f.fn() for _, f in batch]
        self._last_fetch_end = time.monotonic()
        for (task, _), result in zip(batch, results, strict=True):
            task.value = result
            self._push(self.now, task)

    def _wait_quiet(self, wall0: float) -> bool:
        """Wait for the grace period; False if something arrived meanwhile."""
        while True:
            if not self._inbox.empty():
                return False
            act = self.activity
            quiet_for = time.monotonic() - max(act.last, self._last_fetch_end)
            busy = self.service_busy
            grace = self.grace if busy is None else self.busy_grace
            if act.inflight == 0 and quiet_for >= grace and not (busy is not None and busy()):
                return True
            if time.monotonic() - wall0 > self.max_wall + 5:
                return True
            time.sleep(0.005)

    def _drain_inbox(self) -> None:
        while True:
            try:
                fn = self._inbox.get_nowait()
            except queue.Empty:
                return
            fn()

    def _purge_stale(self) -> None:
        while self._heap:
            _, _, task, token = self._heap[0]
            if task.done or token != task.token:
                heapq.heappop(self._heap)
            else:
                return

    def _terminate(self, reason: str) -> None:
        self._terminating = True
        self.errors.append(reason)
        for task in self.tasks:
            if not task.done:
                self.interrupt(task, Terminated(reason))
