"""The RQ worker class: jobs run in the worker's own process, inside the hotline app's context."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Flask
from rq import SimpleWorker
from rq.job import Job


class AppWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process, inside the hotline app's context.

    No work horse is forked per job: the fork cost more than the job (each horse re-imported
    twilio's REST modules, reconnected to the database and recompiled every statement). RQ's
    death penalty (SIGALRM) still ends a job at its timeout; a killed worker's rows go back
    through the outbox sweeper, and the next attempt reconciles with the provider first.
    """

    # A class attribute: rq.WorkerPool builds each worker from a class (see bound_to).
    app: ClassVar[Flask]

    def perform_job(self, job: Job, queue: Any, *args: Any, **kwargs: Any) -> bool:
        # Overrides an RQ internal (BaseWorker.perform_job, run for every job) only to wrap it
        # in the app context; RQ 3 passes the execution too, so whatever it gives is forwarded.
        with self.app.app_context():
            return bool(super().perform_job(job, queue, *args, **kwargs))

    @classmethod
    def bound_to(cls, app: Flask) -> type[AppWorker]:
        """A subclass whose workers run jobs in `app`'s context."""
        return type(f"{cls.__name__}For{app.name.title()}", (cls,), {"app": app})
