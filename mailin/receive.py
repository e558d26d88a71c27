"""What both receivers do with a message: store it (committed), then queue its job."""

from __future__ import annotations

from entitlement.policy import PinPolicy
from kernel.services import Services
from models import utcnow
from tickets.mail.jobs import enqueue
from tickets.mail.store import Stored, store_raw


def receive(
    services: Services,
    raw: bytes,
    source: str,
    envelope_from: str,
    spf: str | None = None,
    dkim: str | None = None,
) -> Stored:
    """Keep the message, then queue its processing (never before the row is committed)."""
    settings = services.settings
    with services.sessions() as session:
        stored = store_raw(
            session,
            raw,
            source,
            envelope_from,
            utcnow(),
            PinPolicy.from_settings(settings),
            settings.mail.max_bytes,
            spf,
            dkim,
        )
        session.commit()
    if not stored.processed:
        enqueue(services.redis, stored.mail_id, settings.notify.job_timeout)
    return stored
