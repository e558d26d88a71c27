"""How long each request took inside the app: a Server-Timing header, and a log line when slow."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger(__name__)
SLOW_SECONDS = 2.0


def init_app(app: Flask) -> None:
    """Time every request; Twilio gives a webhook 15 s in all, so slow ones are worth a warning.

    The header gives the wall-clock time (`app`) and the CPU time of the request's own thread
    (`cpu`): the second does not grow with the machine's load, so a benchmark can tell which
    webhook costs the CPU.
    """

    @app.before_request
    def _start_timer() -> None:
        g.request_started = (time.perf_counter(), time.thread_time())

    @app.after_request
    def _add_server_timing(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            seconds = time.perf_counter() - started[0]
            cpu = time.thread_time() - started[1]
            response.headers["Server-Timing"] = (
                f"app;dur={seconds * 1000:.1f}, cpu;dur={cpu * 1000:.2f}"
            )
            if seconds > SLOW_SECONDS:
                log.warning(
                    "slow request: %s %s took %.1f s", request.method, request.path, seconds
                )
        return response
