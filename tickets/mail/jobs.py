"""The worker job that processes one stored message, and its enqueueing (deterministic job id,
after the row is committed): run twice, it does the work once."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from kernel.queue import NOTIFY_QUEUE, queue_on
from kernel.services import current_services
from models import utcnow
from tickets.attachment_store import store_from_settings
from tickets.mail.intake import IntakeConfig, process

log = logging.getLogger(__name__)
JOB_FUNCTION = "tickets.mail.jobs.process_mail"


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
