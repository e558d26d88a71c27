"""Attachments on a ticket: checked against size and type limits, then stored by key."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Attachment, Ticket, TicketMessage
from tickets.attachment_store import AttachmentStore

# Logs, captures, documents, images and archives: what support asks for. No executables, no HTML.
DEFAULT_EXTENSIONS = (
    "txt", "log", "csv", "json", "xml", "yaml", "yml", "har", "pcap", "pdf", "doc", "docx",
    "xls", "xlsx", "png", "jpg", "jpeg", "gif", "webp", "zip", "gz", "tgz", "7z",
)  # fmt: skip
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 5


class AttachmentError(ValueError):
    """A file refused; the message says which and why, in words a customer understands."""


@dataclass(frozen=True)
class AttachmentLimits:
    """How big each file may be, how many per message, and which types are taken."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS

    def describe(self) -> str:
        """The limits in one sentence for the form."""
        return (
            f"Up to {self.max_files} files, {human_size(self.max_bytes)} each: "
            + ", ".join(self.extensions)
            + "."
        )


@dataclass(frozen=True)
class Upload:
    """A file as a channel received it."""

    filename: str
    data: bytes


def read_all(named_files: list[tuple[str, IO[bytes]]]) -> list[Upload]:
    """Uploads from (name, open file) pairs, each file read and closed (big ones are temp files)."""
    uploads = []
    for name, handle in named_files:
        try:
            uploads.append(Upload(filename=name, data=handle.read()))
        finally:
            handle.close()
    return uploads


def human_size(size: int) -> str:
    """'10 MB', '512 KB', '12 bytes'."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.4g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def clean_filename(raw: str) -> str:
    """The file's own name without any directory, control characters or leading dots."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name.strip().lstrip(".")[:200]


def check_uploads(uploads: list[Upload], limits: AttachmentLimits) -> list[Upload]:
    """The uploads with clean names, or AttachmentError naming the first one refused."""
    uploads = [u for u in uploads if u.filename or u.data]
    if len(uploads) > limits.max_files:
        raise AttachmentError(f"at most {limits.max_files} files can be attached at once")
    checked = []
    for upload in uploads:
        name = clean_filename(upload.filename)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if not name or extension not in limits.extensions:
            raise AttachmentError(
                f"the file {name or '(no name)'} is not a type we accept; allowed: "
                + ", ".join(limits.extensions)
            )
        if not upload.data:
            raise AttachmentError(f"the file {name} is empty")
        if len(upload.data) > limits.max_bytes:
            raise AttachmentError(
                f"the file {name} is too large ({human_size(len(upload.data))}); "
                f"the limit is {human_size(limits.max_bytes)} per file"
            )
        checked.append(Upload(filename=name, data=upload.data))
    return checked


def content_type_of(filename: str) -> str:
    """The type we serve a file as, from its extension (never what the browser claimed)."""
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def store_uploads(
    session: Session,
    store: AttachmentStore,
    ticket: Ticket,
    uploads: list[Upload],
    now: datetime,
    message: TicketMessage | None = None,
) -> list[Attachment]:
    """Save checked uploads to the store and record them on the ticket; the caller commits.

    Files are written before the rows; if the transaction then fails, the caller calls
    `discard` so the store keeps nothing the database does not know.
    """
    saved = []
    for upload in uploads:
        key = f"tickets/{ticket.id}/{secrets.token_hex(16)}"
        content_type = content_type_of(upload.filename)
        store.put(key, upload.data, content_type)
        attachment = Attachment(
            ticket_id=ticket.id,
            message=message,
            filename=upload.filename,
            content_type=content_type,
            size=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            storage_key=key,
            created_at=now,
        )
        session.add(attachment)
        saved.append(attachment)
    session.flush()
    return saved


def discard(store: AttachmentStore, attachments: list[Attachment]) -> None:
    """Remove stored bytes of attachments whose rows were rolled back."""
    for attachment in attachments:
        store.delete(attachment.storage_key)


def ticket_attachments(session: Session, ticket_id: int) -> list[Attachment]:
    """Every attachment of a ticket, oldest first."""
    return list(
        session.scalars(
            select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
        )
    )
