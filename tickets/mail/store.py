"""Storing a message as received, before anything else: the PIN's digits masked, one row per
Message-ID (a redelivered message is the same row)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.errors import MessageError
from email.header import Header
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from entitlement.verify import find_mailed_pin
from models import InboundMail, MailStatus
from tickets.mail.message import header_text, message_id_of, parse, sender_of

MASK = "PIN ********"
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SUBJECT = re.compile(rb"^Subject:.*(?:\r?\n[ \t].*)*", re.IGNORECASE | re.MULTILINE)


class MailTooLarge(ValueError):
    """A message over the size limit; never stored."""


@dataclass(frozen=True)
class Stored:
    """The row a message is kept in, and whether it had been received before."""

    mail_id: int
    duplicate: bool
    processed: bool


def mask_pin(raw: bytes, subject: str, start: int, end: int) -> tuple[bytes, str]:
    """The raw message and subject with the PIN (and any copy of its digits) masked."""
    written = subject[start:end]
    groups = re.findall(r"\d+", written)
    # The PIN's digits, and all the digits written together ("PIN 1234 5678"), wherever they
    # are copied: a quoted subject, the body.
    secrets = {d for d in ["".join(groups), *groups] if len(d) >= 5}
    masked_subject = subject[:start] + MASK + subject[end:]
    for digits in sorted(secrets, key=len, reverse=True):
        # Base64 or quoted-printable hides the digits from a byte search: mask them decoded.
        raw = _mask_in_text_parts(raw, digits)
    split = _HEADER_END.search(raw)
    head, body = (raw[: split.start()], raw[split.start() :]) if split else (raw, b"")
    encoded = Header(masked_subject, "utf-8", maxlinelen=900).encode().encode("ascii")
    head = _SUBJECT.sub(lambda _m: b"Subject: " + encoded, head, count=1)
    for digits in sorted(secrets, key=len, reverse=True):
        head = head.replace(digits.encode(), b"*" * len(digits))
        body = body.replace(digits.encode(), b"*" * len(digits))
    return head + body, masked_subject


def _mask_in_text_parts(raw: bytes, digits: str) -> bytes:
    """The message with `digits` masked inside every text part, however that part is encoded."""
    try:
        return _masked_text_parts(raw, digits)
    except (LookupError, ValueError, TypeError, MessageError):
        return raw  # a message the library cannot rewrite: the byte search still masks it


def _masked_text_parts(raw: bytes, digits: str) -> bytes:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    written = re.compile(r"[ -]?".join(digits))  # also "1234 5678" and "1234-5678"
    changed = False
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError):
            continue  # an unknown charset: the byte search below still runs
        if not isinstance(text, str) or not written.search(text):
            continue
        masked = written.sub("*" * len(digits), text)
        part.set_content(masked, subtype=part.get_content_subtype(), charset="utf-8")
        changed = True
    return message.as_bytes() if changed else raw


def store_raw(
    session: Session,
    raw: bytes,
    source: str,
    envelope_from: str,
    now: datetime,
    policy: PinPolicy,
    max_bytes: int,
    spf: str | None = None,
    dkim: str | None = None,
) -> Stored:
    """Keep the message (PIN masked, hashed) unless its Message-ID was kept already; the caller
    commits, then enqueues its job."""
    if len(raw) > max_bytes:
        raise MailTooLarge(f"the message is {len(raw)} bytes; the limit is {max_bytes}")
    message = parse(raw)
    message_id = message_id_of(message, raw)
    existing = session.execute(
        select(InboundMail.id, InboundMail.status).where(InboundMail.message_id == message_id)
    ).first()
    if existing is not None:
        return Stored(existing.id, True, existing.status is MailStatus.PROCESSED)
    subject = " ".join(header_text(message, "Subject").split())
    found = find_mailed_pin(subject, policy)
    pin_hash = None
    if found is not None:
        raw, subject = mask_pin(raw, subject, found.start, found.end)
        pin_hash = found.pin_hash
    _name, sender = sender_of(message)
    row = {
        "message_id": message_id,
        "source": source,
        "envelope_from": envelope_from[:254],
        "sender": sender,
        "subject": subject[:300],
        "raw": raw,
        "size": len(raw),
        "pin_hash": pin_hash,
        "spf": spf[:32] if spf else None,
        "dkim": dkim[:32] if dkim else None,
        "status": MailStatus.RECEIVED,
        "received_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Two deliveries of one message racing: the unique Message-ID keeps one row.
    inserted = session.execute(
        insert(InboundMail).values(row).on_conflict_do_nothing().returning(InboundMail.id)
    ).first()
    if inserted is None:
        again = session.execute(
            select(InboundMail.id, InboundMail.status).where(InboundMail.message_id == message_id)
        ).one()
        return Stored(again.id, True, again.status is MailStatus.PROCESSED)
    return Stored(inserted.id, False, False)
