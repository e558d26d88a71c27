"""The RQ jobs that send notifications, a batch at a time, safe to run twice: a row is sent once.

A job claims all its rows in one conditional UPDATE (committed before anything is sent), sends
them a few at a time, and records what went out in one UPDATE. A row whose send may have
started and was not recorded stays claimed: its next attempt asks the provider first.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import get_current_job
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from kernel.config import NotifySettings, Settings
from kernel.services import Services, current_services
from models import Notification, NotificationChannel, NotificationStatus, utcnow
from notify.outbox import MANAGERS, add_notification
from notify.render import render
from notify.senders import PermanentError, email_sender, sms_sender
from tickets.calls import record_ticket_event
from tickets.events import AlertReachedNobody, NotificationDead

log = logging.getLogger(__name__)
OPEN = (NotificationStatus.PENDING, NotificationStatus.ENQUEUED)
JOB_FUNCTION = "notify.jobs.send_notifications"
RECONCILED = "reconciled with the provider after a retry"


@dataclass(frozen=True)
class Outgoing:
    """One row of a batch as read before its claim: what to send, and what the claim expects."""

    id: int
    ticket_id: int | None
    kind: str
    channel: NotificationChannel
    recipient: str
    attempts: int
    # Claimed by an earlier attempt: a send may have reached the provider, so ask it first.
    was_claimed: bool
    since: datetime
    subject: str
    body: str
    # A threaded email's Message-ID/In-Reply-To/References (the payload's "mail_headers").
    mail_headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Sent:
    """The provider took the message (or had it already, when reconciled)."""

    provider_id: str
    reconciled: bool = False


def send_notifications(notification_ids: list[int]) -> str:
    """Send the rows `notification_ids` that are still this job's; returns what happened."""
    services = current_services()
    job = get_current_job()
    with services.sessions() as session:
        outcomes = deliver_batch(
            services, session, notification_ids, job.id if job else None, utcnow()
        )
    return "; ".join(
        f"{notification_id} {outcome}" for notification_id, outcome in outcomes.items()
    )


def send_notification(notification_id: int) -> str:
    """A single-row job (as queued before batches): sends that row."""
    return send_notifications([notification_id])


def deliver_batch(
    services: Services,
    session: Session,
    notification_ids: list[int],
    job_id: str | None,
    now: datetime,
) -> dict[int, str]:
    """Claim, send and record a batch; `job_id` None skips the ownership check."""
    outcomes = {
        notification_id: "skipped: no such notification" for notification_id in notification_ids
    }
    # One query for the batch: rows, and the templates rendered once per row before the claim.
    rows = session.scalars(
        select(Notification).where(Notification.id.in_(notification_ids)).order_by(Notification.id)
    ).all()
    batch: list[Outgoing] = []
    fan_outs: list[Notification] = []
    for row in rows:
        if row.status not in OPEN:
            outcomes[row.id] = f"skipped: already {row.status.value}"
        elif job_id is not None and row.job_id != job_id:
            # The sweeper gave the row to a newer job: this one is a stale duplicate.
            outcomes[row.id] = f"skipped: owned by job {row.job_id}"
        elif (
            row.claimed_at is not None
            and row.enqueued_at is not None
            and row.claimed_at >= row.enqueued_at
        ):
            # Claimed since the relay handed it to this job: another run of this very job has
            # it (a row claimed by an earlier, dead attempt was handed over after that claim).
            outcomes[row.id] = "skipped: claimed by a concurrent run"
        elif row.recipient == MANAGERS:
            fan_outs.append(row)
        else:
            try:
                batch.append(_outgoing(row))
            except Exception as exc:  # a template that cannot render fails the same way again
                failed = PermanentError(f"cannot render {row.kind}: {type(exc).__name__}: {exc}")
                outcomes[row.id] = _record_failure(
                    session,
                    _unrendered(row),
                    row.attempts + 1,
                    failed,
                    services.settings.notify,
                    now,
                )
    for row in fan_outs:
        outcomes[row.id] = _fan_out(services, session, row, now)
    # End the read first: on SQLite a transaction that read and then writes after another run
    # committed fails at once ("database is locked"); a fresh one waits for the lock instead.
    session.commit()
    claimed = _claim(session, batch, job_id, now)
    for outgoing in batch:
        if outgoing.id not in claimed:
            outcomes[outgoing.id] = "skipped: claimed by a concurrent run"
    mine = [outgoing for outgoing in batch if outgoing.id in claimed]
    if mine:
        outcomes.update(_send_claimed(services.settings, session, mine))
    return outcomes


def _outgoing(row: Notification) -> Outgoing:
    if row.body is None:
        message = render(row.kind, row.channel.value, dict(row.payload))
        subject, body = message.subject, message.body
    else:
        subject, body = row.subject or "", row.body
    return Outgoing(
        id=row.id, ticket_id=row.ticket_id, kind=row.kind, channel=row.channel,
        recipient=row.recipient, attempts=row.attempts,
        was_claimed=row.claimed_at is not None or row.attempts > 0,
        since=(row.claimed_at or row.created_at) - timedelta(minutes=5),
        subject=subject, body=body, mail_headers=_payload_headers(row),
    )  # fmt: skip


def _payload_headers(row: Notification) -> dict[str, str] | None:
    headers = row.payload.get("mail_headers") if isinstance(row.payload, dict) else None
    if not isinstance(headers, dict):
        return None
    return {str(k): str(v) for k, v in headers.items()}


def _unrendered(row: Notification) -> Outgoing:
    return Outgoing(
        id=row.id, ticket_id=row.ticket_id, kind=row.kind, channel=row.channel,
        recipient=row.recipient, attempts=row.attempts, was_claimed=False,
        since=row.created_at, subject="", body="",
    )  # fmt: skip


def _claim(session: Session, batch: list[Outgoing], job_id: str | None, now: datetime) -> set[int]:
    """Claim the batch in one statement, committed before any send; the ids this run won."""
    if not batch:
        return set()
    by_id = Notification.id
    conditions = [
        by_id.in_([outgoing.id for outgoing in batch]),
        Notification.status.in_(OPEN),
        # The attempts CAS, row by row: of two runs of a row, one wins it.
        Notification.attempts == case({o.id: o.attempts for o in batch}, value=by_id),
    ]
    if job_id is not None:
        conditions.append(Notification.job_id == job_id)
    won = session.execute(
        update(Notification)
        .where(*conditions)
        .values(
            claimed_at=now,
            attempts=Notification.attempts + 1,
            subject=case({o.id: o.subject for o in batch}, value=by_id),
            body=case({o.id: o.body for o in batch}, value=by_id),
        )
        .returning(by_id)
        .execution_options(synchronize_session=False)
    )
    claimed = set(won.scalars().all())
    session.commit()
    return claimed


def _send_claimed(settings: Settings, session: Session, rows: list[Outgoing]) -> dict[int, str]:
    """Send claimed rows, a few at a time, and record every outcome."""
    tuning = settings.notify
    results: dict[int, Sent | Exception] = {}
    if len(rows) == 1 or tuning.send_concurrency == 1:
        started = 0
        try:
            for row in rows:
                started += 1
                results[row.id] = _send_one(settings, tuning, row)
        finally:
            # Even when the job timeout cuts in: what went out is recorded, not reconciled.
            _record_sent(session, results, utcnow())
            if started < len(rows):
                _release(session, rows[started:])
    else:
        futures = {
            _pool(tuning.send_concurrency).submit(_send_one, settings, tuning, r): r for r in rows
        }
        try:
            wait(futures)
        finally:
            _collect(session, futures, results)
    outcomes: dict[int, str] = {}
    for row in rows:
        result = results[row.id]
        if isinstance(result, Sent):
            reconciled = "reconciled: already sent as" if result.reconciled else "sent:"
            outcomes[row.id] = f"{reconciled} {result.provider_id}"
        else:
            outcomes[row.id] = _record_failure(
                session, row, row.attempts + 1, result, tuning, utcnow()
            )
    return outcomes


def _collect(
    session: Session,
    futures: dict[Future[Sent | Exception], Outgoing],
    results: dict[int, Sent | Exception],
) -> None:
    """Record what was sent; hand back rows whose send never started (the job was cut off)."""
    unstarted: list[Outgoing] = []
    for future, row in futures.items():
        if future.cancel():
            unstarted.append(row)
        elif future.done():
            results[row.id] = future.result()
        # Still running: it may reach the provider; the row stays claimed and is reconciled.
    _record_sent(session, results, utcnow())
    if unstarted:
        _release(session, unstarted)


def _send_one(settings: Settings, tuning: NotifySettings, row: Outgoing) -> Sent | Exception:
    """Send one row (in a pool thread: no database here); the failure is returned, not raised."""
    try:
        if row.channel == NotificationChannel.SMS:
            sender = sms_sender(settings, tuning)
            if row.was_claimed:
                # An earlier attempt may have reached Twilio and died before recording it.
                found = sender.find_sent(row.recipient, row.body, row.since)
                if found is not None:
                    return Sent(found, reconciled=True)
            callback = f"{settings.public_base_url}/notify/status?n={row.id}"
            return Sent(sender.send(row.recipient, row.body, callback))
        host = settings.public_base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        return Sent(
            email_sender(settings, tuning).send(
                row.recipient,
                row.subject,
                row.body,
                f"<notify-{row.id}@{host}>",
                _mail_headers(row.mail_headers, settings.mail.reply_address),
            )
        )
    except Exception as exc:  # every provider failure is recorded on the row, then retried or dead
        return exc


def _mail_headers(headers: dict[str, str] | None, reply_address: str) -> dict[str, str] | None:
    """A threaded email's headers (its payload's "mail_headers"), with Reply-To our support
    address so that the answer comes back to the intake; None for other emails."""
    if headers is None:
        return None
    return {**headers, "Reply-To": reply_address}


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(size: int) -> ThreadPoolExecutor:
    # One pool per process (keyed by pid: a forked worker never inherits its parent's threads).
    key = (os.getpid(), size)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="notify-send")
    return _pools[key]


def _record_sent(session: Session, results: dict[int, Sent | Exception], now: datetime) -> None:
    """One statement for the batch: a delivery receipt that raced ahead keeps its higher status."""
    sent = {i: result for i, result in results.items() if isinstance(result, Sent)}
    if not sent:
        return
    by_id = Notification.id
    reconciled = {i: RECONCILED for i, result in sent.items() if result.reconciled}
    session.execute(
        update(Notification)
        .where(by_id.in_(list(sent)))
        .values(
            provider_id=case(
                {i: result.provider_id[:64] for i, result in sent.items()}, value=by_id
            ),
            sent_at=now,
            claimed_at=None,
            last_error=case(reconciled, value=by_id, else_=None) if reconciled else None,
            status=case(
                (Notification.status.in_(OPEN), NotificationStatus.SENT.value),
                else_=Notification.status,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _release(session: Session, rows: list[Outgoing]) -> None:
    """Undo the claim of rows whose send never started, so the relay sends them again at once."""
    fresh = [row.id for row in rows if not row.was_claimed]
    # A row claimed before keeps its claim: its earlier attempt may have reached the provider.
    if fresh:
        session.execute(
            update(Notification)
            .where(
                Notification.id.in_(fresh),
                Notification.status.in_(OPEN),
                Notification.attempts == 1,
            )
            .values(status=NotificationStatus.PENDING, job_id=None, claimed_at=None, attempts=0)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _record_failure(
    session: Session,
    row: Outgoing,
    attempts: int,
    exc: Exception,
    tuning: NotifySettings,
    now: datetime,
) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = isinstance(exc, PermanentError)
    if permanent or attempts >= tuning.max_attempts:
        dead = session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.status.in_(OPEN))
            .values(status=NotificationStatus.DEAD, last_error=error, claimed_at=None, job_id=None)
        )
        if dead.rowcount == 1 and row.ticket_id is not None:  # type: ignore[attr-defined]
            # On the ticket's timeline, so a manager sees the follow-up never went out.
            record_ticket_event(session, row.ticket_id, _dead_detail(row, attempts, error), now)
        session.commit()
        log.warning("notification %s dead after %s attempt(s): %s", row.id, attempts, error)
        return f"dead: {error}"
    delay = tuning.retry_delay(attempts)
    session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.status.in_(OPEN))
        .values(
            status=NotificationStatus.PENDING,
            available_at=now + timedelta(seconds=delay),
            last_error=error,
            claimed_at=None,
            job_id=None,
        )
    )
    session.commit()
    log.info(
        "notification %s attempt %s failed, retry in %.1fs: %s", row.id, attempts, delay, error
    )
    return f"retry in {delay:.1f}s: {error}"


def _dead_detail(row: Outgoing, attempts: int, error: str) -> NotificationDead:
    return NotificationDead(
        notification_id=row.id,
        notification_kind=row.kind,
        channel=row.channel.value,
        recipient=row.recipient,
        attempts=attempts,
        error=error,
    )


def _fan_out(services: Services, session: Session, row: Notification, now: datetime) -> str:
    """Resolve role:managers to one row per manager address, in one transaction."""
    settings = services.settings
    targets = (
        settings.manager_phones
        if row.channel == NotificationChannel.SMS
        else (settings.manager_emails)
    )
    if not targets:
        # Nobody configured: the console sender shows it, so the alert is not silently lost.
        message = render(row.kind, row.channel.value, dict(row.payload))
        if row.channel == NotificationChannel.SMS:
            print(f"[notify] SMS to managers (MANAGER_PHONES unset):\n  {message.body}", flush=True)
        else:
            print(
                f"[notify] Email to managers (MANAGER_EMAILS unset): {message.subject}", flush=True
            )
            print("\n".join(f"  {line}" for line in message.body.splitlines()), flush=True)
        row.subject, row.body = message.subject, message.body
        setting = "MANAGER_PHONES" if row.channel == NotificationChannel.SMS else "MANAGER_EMAILS"
        if row.ticket_id is not None:
            # The ticket says so: a green "sent" would hide that no manager heard of it.
            unsent = AlertReachedNobody(
                notification_id=row.id,
                notification_kind=row.kind,
                channel=row.channel.value,
                setting=setting,
            )
            record_ticket_event(session, row.ticket_id, unsent, now)
        _finish_parent(
            session, row, "console:no-managers", now, status=NotificationStatus.NO_RECIPIENT
        )
        return f"reached nobody: {setting} is not set"
    key = row.dedupe_key or f"notification-{row.id}"
    for target in targets:
        add_notification(
            session,
            kind=row.kind,
            channel=row.channel,
            recipient=target,
            payload=dict(row.payload),
            now=now,
            dedupe_key=f"{key}>{target}"[:200],
            ticket_id=row.ticket_id,
        )
    _finish_parent(session, row, f"fanout:{len(targets)}", now)
    return f"fanned out to {len(targets)} manager(s)"


def _finish_parent(
    session: Session,
    row: Notification,
    provider_id: str,
    now: datetime,
    status: NotificationStatus = NotificationStatus.SENT,
) -> None:
    done = session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.status.in_(OPEN))
        .values(
            status=status,
            provider_id=provider_id,
            sent_at=now,
            subject=row.subject,
            body=row.body,
        )
    )
    if done.rowcount == 1:  # type: ignore[attr-defined]
        session.commit()
    else:
        # A concurrent run already fanned out: drop our children with the transaction.
        session.rollback()
