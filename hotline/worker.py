"""The RQ worker class: jobs run in the worker's own process, inside the hotline app's context."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import Flask
from rq import SimpleWorker
from rq.job import Job

PUBSUB_READ_SECONDS = 1.0


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

    def subscribe(self) -> None:
        # Overrides an RQ internal (BaseWorker.subscribe) to change one number: RQ's pubsub
        # thread waits up to 60 s per read, and redis-py 8's PubSubWorkerThread.stop(), which
        # RQ calls with no timeout when a worker exits, waits for that read: a worker that has
        # finished could take a minute to exit (seen as 60 s stalls in the worker tests and
        # in `hotline run`'s Ctrl-C). A 1 s read bounds the exit; an idle wake-up costs nothing.
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ declares the attribute as None, as set before the first subscribe.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_READ_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )

    @classmethod
    def bound_to(cls, app: Flask) -> type[AppWorker]:
        """A subclass whose workers run jobs in `app`'s context."""
        return type(f"{cls.__name__}For{app.name.title()}", (cls,), {"app": app})
