"""The worker job that processes one stored message, and its enqueueing (deterministic job id,
after the row is committed): run twice, it does the work once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from kernel.queue import NOTIFY_QUEUE, queue_on
from kernel.services import Services, current_services
from models import InboundMail, MailStatus, utcnow
from tickets.attachment_store import store_from_settings
from tickets.mail.intake import IntakeConfig, process

log = logging.getLogger(__name__)
JOB_FUNCTION = "tickets.mail.jobs.process_mail"
# A stored message whose job is gone this long after it came is queued again.
REQUEUE_AFTER = timedelta(minutes=1)


def job_id_for(mail_id: int) -> str:
    """The RQ job id of a message's processing: one job per message."""
    return f"mail-{mail_id}"


def process_mail(mail_id: int) -> str:
    """Process stored message `mail_id` unless done already; returns what happened."""
    services = current_services()
    config = IntakeConfig.from_settings(services.settings)
    store = store_from_settings(services.settings)
    with services.sessions() as session:
        result = process(session, mail_id, utcnow(), config, store)
    # The outcome only: never the subject or the sender's words.
    log.info("mail %s: %s", mail_id, result.outcome.value if result.outcome else result.detail)
    return f"{result.outcome.value if result.outcome else 'skipped'}: {result.detail}"


def enqueue(redis_client: Redis, mail_id: int, job_timeout: int = 60) -> bool:
    """Queue the message's job (on the workers' queue); False when Redis is unreachable (the
    message is kept, and `requeue_stored` picks it up later)."""
    try:
        queue_on(redis_client, NOTIFY_QUEUE).enqueue_call(
            JOB_FUNCTION,
            args=(mail_id,),
            job_id=job_id_for(mail_id),
            timeout=job_timeout,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"process inbound mail {mail_id}",
        )
    except RedisError as exc:
        log.warning("mail %s stored, not queued yet: %s", mail_id, exc)
        return False
    return True


def requeue_stored(services: Services, now: datetime | None = None) -> int:
    """Queue again the stored messages whose job never reached Redis (or Redis lost it); the
    number queued. A job that failed stays failed (RQ's failed registry) for a person to see."""
    now = now or utcnow()
    with services.sessions() as session:
        waiting = session.scalars(
            select(InboundMail.id)
            .where(
                InboundMail.status == MailStatus.RECEIVED,
                InboundMail.received_at < now - REQUEUE_AFTER,
            )
            .order_by(InboundMail.id)
            .limit(200)
        ).all()
    queued = 0
    for mail_id in waiting:
        try:
            Job.fetch(job_id_for(mail_id), connection=services.redis, serializer="json")
            continue
        except NoSuchJobError:
            pass
        if not enqueue(services.redis, mail_id, services.settings.notify.job_timeout):
            break
        queued += 1
    return queued
