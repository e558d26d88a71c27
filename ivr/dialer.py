"""Placing and cancelling engineer calls over Twilio's REST API, off the webhook's path.

A webhook decides (routing.ringing) and commits; the dialer then talks to Twilio from a small
thread pool, so no caller waits on a REST round trip and nothing here needs Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from werkzeug.routing import MapAdapter

from kernel.config import settings_of
from kernel.twilio_client import rest_client
from kernel.twilio_fields import CallStatus
from models import Call
from models.ringing import AttemptStatus, RingAttempt
from routing import ringing

log = logging.getLogger(__name__)
# The leg's progress events we want status callbacks for (Twilio names them after statuses).
# Not "initiated": it changes nothing, and each callback is a webhook the web tier serves.
LEG_EVENTS = [s.value for s in (CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.COMPLETED)]
# Connection overrides (never signed): retry a status callback we answered 5xx, or timed out.
STATUS_RETRIES = "#rc=3&rp=5xx,ct,rt"
MANAGER_ALERT_EVERY_SECONDS = 600


class Dialer:
    """Runs ringing decisions against Twilio for one app."""

    def __init__(self, app: Flask, workers: int = 8) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dialer")
        self._client: Client | None = None
        self._urls: MapAdapter | None = None
        self._alert_lock = threading.Lock()
        self._next_alert = 0.0
        self._under_way = 0
        self._under_way_lock = threading.Lock()

    def carry_out(self, progress: ringing.Progress, call_id: int) -> None:
        """Place and cancel what `progress` says; redirect the caller when nobody is left."""
        for attempt_id in progress.cancel:
            self._submit(self._cancel, attempt_id)
        for attempt_id in progress.place:
            self._submit(self._place, attempt_id)
        if progress.exhausted:
            self._submit(self._redirect_caller, call_id, "ivr.no_engineer")

    def busy(self) -> bool:
        """True while work handed to the dialer is queued or running."""
        return self._under_way > 0

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._under_way_lock:
            self._under_way += 1

        def run() -> None:
            try:
                fn(*args)
            finally:
                with self._under_way_lock:
                    self._under_way -= 1

        self.pool.submit(run)

    def close(self) -> None:
        """Finish what is under way and stop the threads (at shutdown, and between tests)."""
        self.pool.shutdown(wait=True)

    def _rest(self) -> Client:
        if self._client is None:
            self._client = rest_client(settings_of(self.app))
        return self._client

    def _url(self, endpoint: str, **params: Any) -> str:
        # The app's URL map bound once: a request context per URL (three a placed call) cost
        # more CPU than the REST call's own Python.
        if self._urls is None:
            self._urls = self.app.url_map.bind("localhost")
        return settings_of(self.app).public_base_url + self._urls.build(endpoint, params)

    def alert_managers(self, text: str) -> None:
        """SMS MANAGER_PHONES straight through Twilio (no database, no Redis), once a while."""
        now = time.monotonic()
        with self._alert_lock:
            if now < self._next_alert:
                return
            self._next_alert = now + MANAGER_ALERT_EVERY_SECONDS
        for phone in settings_of(self.app).manager_phones:
            self._submit(self._sms, phone, text)

    def send_text(self, phone: str, text: str) -> None:
        """SMS a caller's one-time code straight through Twilio: it never sits in the outbox."""
        self._submit(self._text, phone, text)

    def _text(self, phone: str, text: str) -> None:
        try:
            self._rest().messages.create(
                to=phone, from_=settings_of(self.app).hotline_number, body=text
            )
        except Exception as exc:
            # The exception's text may quote the request; the body carries a code: leave it out.
            log.error("could not text a one-time code to %s: %s", phone, type(exc).__name__)

    def _sms(self, phone: str, text: str) -> None:
        try:
            self._rest().messages.create(
                to=phone, from_=settings_of(self.app).hotline_number, body=text
            )
        except Exception as exc:
            log.error("could not alert manager %s of degraded mode: %s", phone, exc)

    def _place(self, attempt_id: int) -> None:
        try:
            self._place_one(attempt_id)
        except Exception:
            log.exception("placing engineer call for attempt %s failed", attempt_id)

    def _place_one(self, attempt_id: int) -> None:
        settings = settings_of(self.app)
        with self.app.app_context(), self.app.extensions["sessionmaker"]() as session:
            attempt = session.get(RingAttempt, attempt_id)
            if attempt is None or attempt.status is not AttemptStatus.QUEUED:
                return
            try:
                leg = self._rest().calls.create(
                    to=attempt.phone,
                    from_=settings.hotline_number,
                    url=self._url("ivr.engineer", attempt=attempt.id),
                    method="POST",
                    # If a web worker dies serving this leg, the same step runs again there.
                    fallback_url=self._url("ivr.engineer_fallback", attempt=attempt.id),
                    fallback_method="POST",
                    # Retried by Twilio (#rc) if we answer 5xx: we could not even journal it.
                    status_callback=self._url("ivr.engineer_status", attempt=attempt.id)
                    + STATUS_RETRIES,
                    status_callback_event=LEG_EVENTS,
                    status_callback_method="POST",
                    timeout=attempt.ring_timeout_seconds,
                )
            except TwilioRestException as exc:
                log.error("Twilio refused a call to %s: %s %s", attempt.phone, exc.code, exc.msg)
                self._failed(session, attempt)
                return
            except Exception as exc:  # the REST API is unreachable: move on to the next step
                log.error("could not reach Twilio to call %s: %s", attempt.phone, exc)
                self._failed(session, attempt)
                return
            # The leg's sid, and the status as it stands once the row is locked: an accept or a
            # hang-up may have cancelled the attempt while we were dialling (one round trip).
            status = session.scalar(
                update(RingAttempt)
                .where(RingAttempt.id == attempt_id)
                .values(leg_sid=leg.sid)
                .returning(RingAttempt.status),
                execution_options={"synchronize_session": False},
            )
            cancelled_meanwhile = status is AttemptStatus.CANCELLED
            session.commit()
        if cancelled_meanwhile:
            # Someone accepted (or the caller left) while this phone was being dialled.
            self._cancel(attempt_id)

    def _failed(self, session: Session, attempt: RingAttempt) -> None:
        now = datetime.now(UTC)
        call = attempt.call
        ringing.lock(session, call)
        ringing.end_attempt(session, call, attempt, AttemptStatus.FAILED, now)
        progress = ringing.advance(session, call, now)
        session.commit()
        self.carry_out(progress, call.id)

    def _cancel(self, attempt_id: int) -> None:
        with self.app.app_context(), self.app.extensions["sessionmaker"]() as session:
            # Two columns, not the ORM object: nothing here changes the attempt.
            row = session.execute(
                select(RingAttempt.leg_sid, RingAttempt.answered_at).where(
                    RingAttempt.id == attempt_id
                )
            ).first()
            if row is None or row.leg_sid is None:
                return
            # A ringing call is cancelled; one already answered has to be completed.
            ended = CallStatus.COMPLETED if row.answered_at else CallStatus.CANCELED
            status = ended.value
            leg_sid = row.leg_sid
        try:
            self._rest().calls(leg_sid).update(status=status)
        except TwilioRestException as exc:
            if exc.status != 404:
                log.warning("could not end engineer leg %s: %s %s", leg_sid, exc.code, exc.msg)
        except Exception as exc:
            log.warning("could not reach Twilio to end engineer leg %s: %s", leg_sid, exc)

    def _redirect_caller(self, call_id: int, endpoint: str) -> None:
        with self.app.app_context(), self.app.extensions["sessionmaker"]() as session:
            call = session.get(Call, call_id)
            if call is None or call.ended_at is not None:
                return
            call_sid = call.call_sid
        try:
            self._rest().calls(call_sid).update(
                url=self._url(endpoint, call=call_id), method="POST"
            )
        except Exception as exc:
            # The caller's hold loop notices on its next turn and leaves the queue itself.
            log.warning("could not redirect caller %s: %s", call_sid, exc)


def init_app(app: Flask) -> None:
    """Give the app its dialer."""
    app.extensions["dialer"] = Dialer(app)


def dialer_of(app: Flask) -> Dialer:
    """The app's dialer."""
    dialer: Dialer = app.extensions["dialer"]
    return dialer
