"""Where messages go: Twilio's REST API, an SMTP server, or the worker's console."""

from __future__ import annotations

import os
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Protocol
from urllib.parse import unquote, urlsplit

from twilio.base.exceptions import TwilioRestException

from kernel.config import NotifySettings, Settings, SmsBackend
from kernel.twilio_client import rest_client

OPTED_OUT = 21610
# The only extra headers a row may set on its email.
THREAD_HEADERS = ("In-Reply-To", "References", "Reply-To", "Auto-Submitted")


class PermanentError(Exception):
    """The provider refused the message for good: retrying cannot help."""


class Outgoing(Protocol):
    """One message to send, as the job hands it to a sender."""

    id: int
    recipient: str
    subject: str | None
    body: str | None


class SmsSender(Protocol):
    def send(self, to: str, body: str, status_callback: str) -> str: ...
    def find_sent(self, to: str, body: str, since: datetime) -> str | None: ...


class EmailSender(Protocol):
    def send(
        self,
        to: str,
        subject: str,
        body: str,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> str: ...


class TwilioSms:
    """SMS through twilio-python's REST client, pointed at TWILIO_API_BASE_URL."""

    def __init__(self, settings: Settings, notify: NotifySettings) -> None:
        # The default TwilioHttpClient has no timeout at all: a hung API would hang the job.
        self.client = rest_client(settings, timeout=notify.http_timeout)
        self.from_number = settings.hotline_number
        self.validity = notify.sms_validity_seconds

    def send(self, to: str, body: str, status_callback: str) -> str:
        try:
            message = self.client.messages.create(
                to=to,
                from_=self.from_number,
                body=body,
                status_callback=status_callback,
                # A page that waits in Twilio's queue for an hour is worse than none.
                validity_period=self.validity,
            )
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        return str(message.sid)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The sid of a message with `body` already sent to `to` since `since`, if any."""
        try:
            messages = self.client.messages.list(
                to=to, from_=self.from_number, date_sent_after=since - timedelta(days=1), limit=200
            )
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        for message in messages:
            created = message.date_created
            if message.body == body and (
                created is None or created >= since - timedelta(minutes=5)
            ):
                return str(message.sid)
        return None


def _classify(exc: TwilioRestException) -> Exception:
    # Twilio: retry 429 and 5xx with backoff; other 4xx will fail the same way again.
    if exc.status == 429 or exc.status >= 500:
        retryable: Exception = exc
        return retryable
    if exc.code == OPTED_OUT:
        return PermanentError(f"recipient opted out (21610): {exc.msg}")
    return PermanentError(f"Twilio {exc.status} error {exc.code}: {exc.msg}")


class SmtpEmail:
    """Email through the SMTP server in SMTP_URL (smtp:// or smtps://, user:pass@host:port)."""

    def __init__(self, smtp_url: str, sender: str, timeout: float) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, got {parts.scheme!r}")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        # Deterministic: a resend after a crash carries the same id, so mail systems can dedupe.
        message["Message-ID"] = message_id
        message["Date"] = format_datetime(datetime.now().astimezone())
        # Threading (In-Reply-To, References), Reply-To and Auto-Submitted, when the row has them.
        for name, value in (headers or {}).items():
            if name in THREAD_HEADERS and value:
                message[name] = value
        message.set_content(body)
        try:
            if self.tls:
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.user:
                    if not self.tls and smtp.has_extn("starttls"):
                        smtp.starttls(context=ssl.create_default_context())
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentError(f"SMTP refused {to}: {exc.recipients}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            # 5xx is a permanent refusal (RFC 5321); 4xx is "try again later".
            if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise PermanentError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise
        return message_id


class ConsoleSms:
    """Prints each SMS to the worker's output (no Twilio credentials configured)."""

    def send(self, to: str, body: str, status_callback: str) -> str:
        # One write per message: a batch sends from several threads, and lines must not mix.
        print(f"[notify] SMS to {to}:\n  {body}\n", end="", flush=True)
        return f"console-{uuid.uuid4().hex[:24]}"

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        return None


class ConsoleEmail:
    """Prints each email to the worker's output (no SMTP_URL configured)."""

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        indented = "\n".join(f"  {line}" for line in body.splitlines())
        print(f"[notify] Email to {to}: {subject}\n{indented}\n", end="", flush=True)
        return message_id


def sms_sender(settings: Settings, notify: NotifySettings) -> SmsSender:
    """The SMS sender these settings call for."""
    backend = notify.sms_backend
    if backend == SmsBackend.TWILIO or (backend == SmsBackend.AUTO and settings.twilio_configured):
        return _twilio_sms(os.getpid(), settings, notify)
    return ConsoleSms()


@lru_cache(maxsize=8)
def _twilio_sms(_pid: int, settings: Settings, notify: NotifySettings) -> TwilioSms:
    # One client per process and settings: building one imports twilio's REST modules (about
    # 80 ms), and its session keeps the HTTPS connection to the API alive between messages.
    # Keyed by pid so a forked child never shares its parent's pooled sockets.
    return TwilioSms(settings, notify)


def email_sender(settings: Settings, notify: NotifySettings) -> EmailSender:
    """The email sender these settings call for."""
    if settings.smtp_url:
        host = urlsplit(settings.public_base_url).hostname or "localhost"
        return SmtpEmail(
            settings.smtp_url, notify.email_from or f"hotline@{host}", notify.http_timeout
        )
    return ConsoleEmail()
