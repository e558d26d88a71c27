"""The RQ job that sends one notification, safe to run twice: a row is sent once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq import get_current_job
from sqlalchemy import case, update
from sqlalchemy.orm import Session

from kernel.config import NotifySettings
from kernel.services import Services, current_services
from models import Notification, NotificationChannel, NotificationStatus, utcnow
from notify.outbox import MANAGERS, add_notification
from notify.render import render
from notify.senders import PermanentError, email_sender, sms_sender
from tickets.calls import record_ticket_event
from tickets.events import AlertReachedNobody, NotificationDead

log = logging.getLogger(__name__)
OPEN = (NotificationStatus.PENDING, NotificationStatus.ENQUEUED)
JOB_FUNCTION = "notify.jobs.send_notification"


def send_notification(notification_id: int) -> str:
    """Send notification `notification_id` unless done already; returns what happened."""
    services = current_services()
    job = get_current_job()
    with services.sessions() as session:
        return deliver(services, session, notification_id, job.id if job else None, utcnow())


def deliver(
    services: Services,
    session: Session,
    notification_id: int,
    job_id: str | None,
    now: datetime,
) -> str:
    """Claim, send and record one notification; `job_id` None skips the ownership check."""
    row = session.get(Notification, notification_id)
    if row is None:
        return "skipped: no such notification"
    if row.status not in OPEN:
        return f"skipped: already {row.status.value}"
    if job_id is not None and row.job_id != job_id:
        # The sweeper gave the row to a newer job: this one is a stale duplicate.
        return f"skipped: owned by job {row.job_id}"
    if row.recipient == MANAGERS:
        return _fan_out(services, session, row, now)

    previous_attempts = row.attempts
    was_claimed = row.claimed_at is not None or previous_attempts > 0
    if row.body is None:
        message = render(row.kind, row.channel.value, dict(row.payload))
        row_subject, row_body = message.subject, message.body
    else:
        row_subject, row_body = row.subject or "", row.body
    # The claim is committed before the side effect; the attempts CAS lets one run win it.
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == row.id,
            Notification.status.in_(OPEN),
            Notification.attempts == previous_attempts,
        )
        .values(
            claimed_at=now,
            attempts=previous_attempts + 1,
            subject=row_subject,
            body=row_body,
        )
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return "skipped: claimed by a concurrent run"

    settings = services.settings
    tuning = settings.notify
    try:
        if row.channel == NotificationChannel.SMS:
            sender = sms_sender(settings, tuning)
            if was_claimed:
                # An earlier attempt may have reached Twilio and died before recording it.
                since = (row.claimed_at or row.created_at) - timedelta(minutes=5)
                found = sender.find_sent(row.recipient, row_body, since)
                if found is not None:
                    _record_sent(session, row.id, found, now, reconciled=True)
                    return f"reconciled: already sent as {found}"
            callback = f"{settings.public_base_url}/notify/status?n={row.id}"
            provider_id = sender.send(row.recipient, row_body, callback)
        else:
            host = settings.public_base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
            provider_id = email_sender(settings, tuning).send(
                row.recipient,
                row_subject,
                row_body,
                f"<notify-{row.id}@{host}>",
                _mail_headers(row, settings.mail.reply_address),
            )
    except Exception as exc:  # every provider failure is recorded on the row, then retried or dead
        return _record_failure(session, row, previous_attempts + 1, exc, tuning, utcnow())
    _record_sent(session, row.id, provider_id, utcnow())
    return f"sent: {provider_id}"


def _mail_headers(row: Notification, reply_address: str) -> dict[str, str] | None:
    """A threaded email's headers (row.payload["mail_headers"]), with Reply-To our support
    address so that the answer comes back to the intake; None for other emails."""
    headers = row.payload.get("mail_headers") if isinstance(row.payload, dict) else None
    if not isinstance(headers, dict):
        return None
    return {**{str(k): str(v) for k, v in headers.items()}, "Reply-To": reply_address}


def _record_sent(
    session: Session,
    notification_id: int,
    provider_id: str,
    now: datetime,
    reconciled: bool = False,
) -> None:
    # One statement: a delivery receipt that raced ahead of us keeps its higher status.
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(
            provider_id=provider_id[:64],
            sent_at=now,
            claimed_at=None,
            last_error="reconciled with the provider after a retry" if reconciled else None,
            status=case(
                (Notification.status.in_(OPEN), NotificationStatus.SENT.value),
                else_=Notification.status,
            ),
        )
    )
    session.commit()


def _record_failure(
    session: Session,
    row: Notification,
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


def _dead_detail(row: Notification, attempts: int, error: str) -> NotificationDead:
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
