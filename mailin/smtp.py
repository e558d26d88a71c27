"""The SMTP intake server (aiosmtpd): mail for the support address(es) only, stored before the
client hears "250", so a message the sender saw accepted is never lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy.exc import SQLAlchemyError

from kernel.services import Services
from mailin.receive import receive
from tickets.mail.store import MailTooLarge

log = logging.getLogger(__name__)


class IntakeHandler:
    """aiosmtpd handler: refuses other recipients, stores each message, queues its job."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.addresses = set(services.settings.mail.addresses)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.strip().lower() not in self.addresses:
            ours = self.services.settings.mail.reply_address
            return f"550 5.1.1 <{address[:100]}>: no such mailbox here; write to {ours}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail_from = str(envelope.mail_from or "")
        loop = asyncio.get_running_loop()
        try:
            # The database is blocking code: off the event loop, so other clients keep talking.
            stored = await loop.run_in_executor(
                None, receive, self.services, raw, "smtp", mail_from
            )
        except MailTooLarge:
            limit = self.services.settings.mail.max_mb
            return f"552 5.3.4 Message too big; the limit is {limit} MB"
        except (SQLAlchemyError, OSError) as exc:
            log.warning("smtp intake could not store a message: %s", exc)
            # 4xx: the sending server keeps the message and tries again later.
            return "451 4.3.0 Could not store the message now; please try again later"
        return f"250 2.0.0 Message accepted as {stored.mail_id}; we answer by email"


def make_server(services: Services, host: str | None = None, port: int | None = None) -> Controller:
    """The intake server (not started) on the configured host and port."""
    mail = services.settings.mail
    # aiosmtpd logs every SMTP command and dropped connection at INFO: noise in our logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        IntakeHandler(services),
        hostname=host or mail.intake_host,
        port=mail.intake_port if port is None else port,
        # aiosmtpd refuses larger messages itself (552), at MAIL FROM SIZE= or during DATA.
        data_size_limit=mail.max_bytes,
        server_hostname="hotline-intake",
        ident="Sev-1 Hotline mail intake",
    )
