"""The RQ worker process: builds the app once, then runs jobs inside its context."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import SimpleWorker
from rq.job import Job

from hotline.queue import NOTIFY_QUEUE, get_queue, get_redis


class AppWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process, inside the hotline app's context.

    No work horse is forked per job: the fork cost more than the job (each horse re-imported
    twilio's REST modules, reconnected to the database and recompiled every statement). RQ's
    death penalty (SIGALRM) still ends a job at its timeout; a killed worker's rows go back
    through the outbox sweeper, and the next attempt reconciles with the provider first.
    """

    app: Flask

    def perform_job(self, job: Job, queue: Any, *args: Any, **kwargs: Any) -> bool:
        # RQ 3 passes the execution too: forward whatever this RQ version gives.
        with self.app.app_context():
            return bool(super().perform_job(job, queue, *args, **kwargs))


def build_worker(app: Flask, queue_names: tuple[str, ...] = (NOTIFY_QUEUE,)) -> AppWorker:
    """A worker listening to `queue_names` on the app's Redis."""
    queues = [get_queue(name, app) for name in queue_names]
    worker = AppWorker(queues, connection=get_redis(app), serializer="json")
    worker.app = app
    return worker
