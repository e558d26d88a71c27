"""The RQ worker process: builds the app once, then runs jobs inside its context."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Worker
from rq.job import Job

from hotline.queue import NOTIFY_QUEUE, ROUTING_QUEUE, get_queue, get_redis


class AppWorker(Worker):
    """An RQ worker whose jobs run inside the hotline app's context."""

    app: Flask

    def perform_job(self, job: Job, queue: Any, *args: Any, **kwargs: Any) -> bool:
        # RQ 3 passes the execution too: forward whatever this RQ version gives.
        # The work horse is a fork: pooled connections from the parent must not be reused.
        self.app.extensions["engine"].dispose(close=False)
        with self.app.app_context():
            return bool(super().perform_job(job, queue, *args, **kwargs))


def build_worker(
    app: Flask, queue_names: tuple[str, ...] = (NOTIFY_QUEUE, ROUTING_QUEUE)
) -> AppWorker:
    """A worker listening to `queue_names` on the app's Redis."""
    queues = [get_queue(name, app) for name in queue_names]
    worker = AppWorker(queues, connection=get_redis(app), serializer="json")
    worker.app = app
    return worker
