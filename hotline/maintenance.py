"""The worker's maintenance: replay the webhook journal, and close calls Twilio has ended.

Both go through the live webhook path (the app's own test client, the request signed with our
auth token), so a replayed or reconciled status is keyed, locked and made idempotent exactly
as Twilio's own request would have been: tickets, events, call ends and follow-ups appear
late, but once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from kernel import journal
from kernel.config import settings_of
from kernel.services import services_of
from kernel.twilio_client import rest_client
from kernel.twilio_fields import CallStatus
from models import Call
from tickets.mail.jobs import requeue_stored

log = logging.getLogger(__name__)
REPLAY_INTERVAL_SECONDS = 1.0
# A status Twilio answered us with: replayed later; 403: our auth token changed, never valid.
UNREPLAYABLE = {400, 403, 404, 405, 413}
# Rounds an entry may fail while the database answers before it is skipped (a bug, not an outage).
POISON_ROUNDS = 5


def journal_of(app: Flask) -> journal.Journal:
    """The journal the app's webhooks write."""
    return journal.Journal(settings_of(app).data_dir / "journal")


def _post(client: FlaskClient, app: Flask, path: str, form: dict[str, str], at: datetime) -> int:
    settings = settings_of(app)
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(
        settings.public_base_url + path, form
    )
    headers = {
        "X-Twilio-Signature": signature,
        journal.REPLAY_HEADER: journal.replay_stamp(at, signature, settings.secret_key),
    }
    return client.post(path, data=form, headers=headers).status_code


def replay_journal(app: Flask, refusals: Counter[str] | None = None) -> int:
    """Apply every journaled webhook in order; stop (and retry later) while the database fails.

    `refusals` counts, across rounds, how often each entry failed while the database
    answered: an entry that fails POISON_ROUNDS times like that is logged and skipped, so one
    bad entry cannot hold back every later one.
    """
    clients: list[FlaskClient] = []  # made for the first entry: an empty journal costs nothing
    settings = settings_of(app)
    refusals = Counter() if refusals is None else refusals

    def apply(entry: journal.Entry) -> bool:
        if not clients:
            clients.append(app.test_client())
        client = clients[0]
        headers = {
            "X-Twilio-Signature": entry.signature,
            journal.REPLAY_HEADER: journal.replay_stamp(
                entry.at, entry.signature, settings.secret_key
            ),
        }
        status = client.post(entry.path, data=entry.form, headers=headers).status_code
        if status in UNREPLAYABLE:
            log.error("journaled %s refused on replay (%s); skipped", entry.path, status)
            return True
        if status < 500:
            return True
        if not app.extensions["db_breaker"].is_open():
            key = f"{entry.at.isoformat()} {entry.path} {entry.signature}"
            refusals[key] += 1
            if refusals[key] >= POISON_ROUNDS:
                log.error("journaled %s failed %s times with the database up; skipped",
                          entry.path, refusals[key])  # fmt: skip
                return True
        return False

    applied = journal.replay(journal_of(app), apply)
    if applied:
        log.info("journal: replayed %s webhook(s)", applied)
    return applied


def open_calls_past_due(app: Flask, now: datetime) -> list[str]:
    """CallSids of calls still open long after they should have ended."""
    after = timedelta(seconds=settings_of(app).reconcile_after_seconds)
    with app.extensions["sessionmaker"]() as session:
        return list(
            session.scalars(
                select(Call.call_sid)
                .where(Call.ended_at.is_(None), Call.started_at < now - after)
                .order_by(Call.started_at)
                .limit(200)
            )
        )


def reconcile_calls(app: Flask, now: datetime | None = None) -> int:
    """Ask Twilio how each overdue open call ended and close it through the status webhook."""
    now = now or datetime.now(UTC)
    settings = settings_of(app)
    rest = rest_client(settings)
    client = app.test_client()
    closed = 0
    for call_sid in open_calls_past_due(app, now):
        try:
            remote = rest.calls(call_sid).fetch()
        except TwilioRestException as exc:
            if exc.status != 404:
                log.warning("reconcile: Twilio refused %s: %s", call_sid, exc.msg)
                continue
            status, duration = CallStatus.COMPLETED.value, ""  # Twilio has forgotten it
        except Exception as exc:
            log.warning("reconcile: could not reach Twilio for %s: %s", call_sid, exc)
            return closed
        else:
            status, duration = str(remote.status), str(remote.duration or "")
        if status not in {s.value for s in CallStatus if s.final}:
            continue  # still in progress on Twilio's side: a long call, not a lost one
        form = {
            "AccountSid": settings.twilio_account_sid,
            "CallSid": call_sid,
            "CallStatus": status,
            "CallDuration": duration,
        }
        if _post(client, app, "/ivr/status", form, now) < 300:
            log.warning("reconcile: call %s was still open; Twilio says %s", call_sid, status)
            closed += 1
    return closed


class MaintenanceLoop:
    """Replays the journal every second; reconciles calls (and queues stored email whose job
    was lost) every RECONCILE_INTERVAL."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stopping = threading.Event()

    def run(self) -> None:
        """Loop until stop(); failures are logged and retried on the next round."""
        next_reconcile = 0.0
        refusals: Counter[str] = Counter()
        interval = settings_of(self.app).reconcile_interval_seconds
        while not self.stopping.is_set():
            try:
                replay_journal(self.app, refusals)
                if time.monotonic() >= next_reconcile:
                    next_reconcile = time.monotonic() + interval
                    reconcile_calls(self.app)
                    # Stored email whose job never reached Redis (it was down at the time).
                    requeue_stored(services_of(self.app))
            except Exception as exc:
                log.warning("maintenance: %s; retrying", exc)
            self.stopping.wait(REPLAY_INTERVAL_SECONDS)

    def stop(self) -> None:
        """Return after the current round (safe from a signal handler)."""
        self.stopping.set()
