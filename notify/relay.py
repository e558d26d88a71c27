"""The outbox relay: due rows onto RQ with deterministic job ids, and a sweeper for lost jobs."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

import redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from kernel.queue import NOTIFY_QUEUE, queue_on, worker_seems_dead
from kernel.services import Services
from kernel.wakeup import Waker, waker_for
from models import Notification, NotificationStatus, Task, utcnow
from notify.jobs import JOB_FUNCTION
from notify.task_alerts import fire_due
from tickets.tasks import OPEN_STATES

log = logging.getLogger(__name__)
GONE = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def job_id_for(notification_id: int, attempts: int) -> str:
    """The RQ job id for a row's next attempt: deterministic, new for each attempt."""
    return f"notify-{notification_id}-{attempts}"


def relay_once(services: Services, now: datetime | None = None) -> int:
    """Run due task timers, then move due pending rows onto the notify queue; rows enqueued."""
    now = now or utcnow()
    tuning = services.settings.notify
    with services.sessions() as session:
        # The timers' texts are outbox rows committed with the stage they move: sent this round.
        if fire_due(session, now, services.settings):
            session.commit()
        due = session.execute(
            select(Notification.id, Notification.attempts)
            .where(
                Notification.status == NotificationStatus.PENDING,
                Notification.available_at <= now,
            )
            .order_by(Notification.id)
            .limit(tuning.batch_size)
        ).all()
        if not due:
            return 0
        # One conditional UPDATE takes them: of two relays racing (SQLite has no SKIP LOCKED),
        # one takes each row.
        taken = session.execute(
            update(Notification)
            .where(
                Notification.id.in_([notification_id for notification_id, _ in due]),
                Notification.status == NotificationStatus.PENDING,
            )
            .values(status=NotificationStatus.ENQUEUED, enqueued_at=now)
            .returning(Notification.id, Notification.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        jobs = batches_of(sorted((row[0], row[1]) for row in taken), tuning.job_batch)
        for job_id, ids in jobs:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(ids))
                .values(job_id=job_id)
                .execution_options(synchronize_session=False)
            )
        # Committed before enqueueing: a job never reads a row its relay has not committed.
        session.commit()
        try:
            _enqueue(services, jobs)
        except RedisError:
            # Redis is down: hand the rows back so they go out when it returns.
            session.execute(
                update(Notification)
                .where(
                    Notification.id.in_([row[0] for row in taken]),
                    Notification.status == NotificationStatus.ENQUEUED,
                    Notification.claimed_at.is_(None),
                )
                .values(status=NotificationStatus.PENDING, job_id=None, enqueued_at=None)
            )
            session.commit()
            raise
    return len(taken)


def batches_of(rows: list[tuple[int, int]], size: int) -> list[tuple[str, list[int]]]:
    """(job id, row ids) per batch of `size` taken rows (id, attempts), in id order. The id is
    the first row's next attempt: this relay alone took that row at that attempt."""
    chunks = [rows[start : start + size] for start in range(0, len(rows), size)]
    return [(job_id_for(*chunk[0]), [row_id for row_id, _ in chunk]) for chunk in chunks]


def _enqueue(services: Services, jobs: list[tuple[str, list[int]]]) -> None:
    tuning = services.settings.notify
    queue = queue_on(services.redis, NOTIFY_QUEUE)
    with services.redis.pipeline() as pipe:
        for job_id, ids in jobs:
            queue.enqueue_call(
                JOB_FUNCTION,
                args=(ids,),
                job_id=job_id,
                timeout=tuning.job_timeout,
                result_ttl=3600,
                failure_ttl=7 * 86400,
                description=f"send notifications {', '.join(map(str, ids))}"[:200],
                pipeline=pipe,
            )
        pipe.execute()


def sweep_once(services: Services, now: datetime | None = None) -> int:
    """Give back to the relay rows whose job is gone or whose worker died; the number freed."""
    now = now or utcnow()
    tuning = services.settings.notify
    redis_client = services.redis
    freed = 0
    with services.sessions() as session:
        stuck = session.execute(
            select(Notification.id, Notification.job_id, Notification.claimed_at)
            .where(
                Notification.status == NotificationStatus.ENQUEUED,
                # A claimed row is checked at once: its worker's heartbeat says if it died.
                or_(
                    Notification.enqueued_at < now - timedelta(seconds=tuning.sweep_grace),
                    Notification.claimed_at.is_not(None),
                ),
            )
            .order_by(Notification.id)
            .limit(tuning.batch_size)
        ).all()
        # The rows of a batch share their job: it is looked up once per sweep.
        looked_up: dict[str | None, tuple[JobStatus | None, bool, bool]] = {}
        for notification_id, job_id, claimed_at in stuck:
            if job_id not in looked_up:
                looked_up[job_id] = _job_health(
                    redis_client, job_id, tuning.heartbeat_stale_seconds
                )
            status, worker_died, stranded = looked_up[job_id]
            claim_expired = (
                worker_died
                or stranded
                or (
                    claimed_at is not None
                    and claimed_at < now - timedelta(seconds=tuning.claim_timeout)
                )
            )
            if status is not None and status not in GONE and not claim_expired:
                continue
            # claimed_at stays set: the next attempt reconciles with the provider first.
            freed_row = session.execute(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.status == NotificationStatus.ENQUEUED,
                    Notification.job_id == job_id,
                )
                .values(status=NotificationStatus.PENDING, job_id=None, available_at=now)
            )
            if freed_row.rowcount == 1:  # type: ignore[attr-defined]
                freed += 1
                log.warning(
                    "notification %s: job %s is %s; handing the row back to the relay",
                    notification_id,
                    job_id,
                    status.value if status else "gone",
                )
        session.commit()
    return freed


def _job_health(
    redis_client: redis.Redis, job_id: str | None, stale_after: float
) -> tuple[JobStatus | None, bool, bool]:
    """The job's status, whether its worker died, and whether it is stranded outside a queue."""
    status, worker_name = _job_status(redis_client, job_id)
    # A worker can die after taking the job and before claiming the row: its job then
    # sits "started" for good, so a dead worker frees the row, claimed or not.
    worker_died = status is JobStatus.STARTED and worker_seems_dead(
        redis_client, worker_name, time.time(), stale_after
    )
    # A worker killed right after taking a job leaves it "queued" but in no queue (RQ's
    # intermediate list): nothing would run it for a minute or more.
    stranded = (
        status is JobStatus.QUEUED
        and job_id is not None
        and queue_on(redis_client, NOTIFY_QUEUE).get_job_position(job_id) is None
    )
    return status, worker_died, stranded


def _job_status(
    redis_client: redis.Redis, job_id: str | None
) -> tuple[JobStatus | None, str | None]:
    """The job's status and the worker running it (None, None when there is no such job)."""
    if job_id is None:
        return None, None
    try:
        job = Job.fetch(job_id, connection=redis_client, serializer="json")
    except NoSuchJobError:
        return None, None
    return job.get_status(refresh=False), job.worker_name


def seconds_to_next_due(services: Services, now: datetime | None = None) -> float | None:
    """Seconds until the next pending row or task timer falls due (0 if one is due); None if
    nothing waits. One query: the relay sleeps until then unless the database wakes it."""
    now = now or utcnow()
    with services.sessions() as session:
        row = session.execute(
            select(
                select(func.min(Notification.available_at))
                .where(Notification.status == NotificationStatus.PENDING)
                .scalar_subquery(),
                select(func.min(Task.next_timer_at))
                .where(Task.state.in_(OPEN_STATES), Task.next_timer_at.is_not(None))
                .scalar_subquery(),
            )
        ).one()
    due: list[datetime] = [at for at in row if at is not None]
    if not due:
        return None
    seconds: float = (min(due) - now).total_seconds()
    return max(0.0, seconds)


# The longest single wait: a stop request is noticed within this, even with no wake-up.
WAIT_SLICE_SECONDS = 1.0


class RelayLoop:
    """Relays when the database says there is work (or a row or timer falls due), and sweeps
    every sweep_interval, until stopped. Idle, it sleeps: no polling round trips."""

    def __init__(self, services: Services, waker: Waker | None = None) -> None:
        self.services = services
        self.stopping = threading.Event()
        tuning = services.settings.notify
        self.waker = waker or waker_for(services.settings.database_url, tuning.relay_interval)

    def run(self) -> None:
        """Loop until stop() is called; Redis or database outages are logged once and waited out."""
        tuning = self.services.settings.notify
        next_sweep = 0.0
        failing = False
        try:
            while not self.stopping.is_set():
                deadline = time.monotonic() + tuning.relay_interval
                try:
                    moved = relay_once(self.services)
                    if time.monotonic() >= next_sweep:
                        sweep_once(self.services)
                        next_sweep = time.monotonic() + tuning.sweep_interval
                    if moved < tuning.batch_size:
                        due_in = seconds_to_next_due(self.services)
                        wait = tuning.sweep_interval if due_in is None else due_in
                        deadline = time.monotonic() + min(wait, next_sweep - time.monotonic())
                    else:
                        deadline = 0.0  # a full batch means more are due: go again at once
                    if failing:
                        log.info("notify relay: Redis and the database answer again")
                    failing = False
                except (RedisError, SQLAlchemyError, OSError) as exc:
                    if not failing:
                        # Logged once per outage: the rows wait in the database meanwhile.
                        log.warning("notify relay: %s; pending rows wait", exc)
                    failing = True
                self._sleep_until(deadline)
        finally:
            self.waker.close()

    def _sleep_until(self, deadline: float) -> None:
        """Sleep until `deadline` (monotonic), a wake-up from the database, or stop()."""
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.waker.wait(min(left, WAIT_SLICE_SECONDS)):
                return

    def stop(self) -> None:
        """Ask the loop to return after its current round (safe from a signal handler)."""
        self.stopping.set()
