"""Reading a raw message: its sender, thread headers, text (HTML made plain) and attachments."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from tickets.attachments import Upload

_MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,290}>")
# Control characters (NUL above all: PostgreSQL text refuses it) are dropped from what is read.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# RFC 3834 and the headers mail systems and lists add to what no person wrote.
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_LIST_HEADERS = ("List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Owner")
_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")


@dataclass(frozen=True)
class ReadMail:
    """What the intake needs from one message."""

    message_id: str
    sender: str  # the From address, lower-cased ("" when there is none)
    sender_name: str
    subject: str
    in_reply_to: tuple[str, ...]
    text: str
    attachments: tuple[Upload, ...]
    # Why nobody should answer this message (RFC 3834 and friends), None for a person's mail.
    automatic: str | None


def parse(raw: bytes) -> EmailMessage:
    """The message as the standard library's modern email API reads it."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def message_id_of(message: EmailMessage, raw: bytes) -> str:
    """Its Message-ID, or one made from the content's hash (the same bytes, the same id)."""
    found = _MESSAGE_ID.search(header_text(message, "Message-ID"))
    if found:
        return found.group(0)
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def sender_of(message: EmailMessage) -> tuple[str, str]:
    """(name, address lower-cased) of From; ("", "") when it has no usable address."""
    name, address = parseaddr(header_text(message, "From"))
    address = address.strip().lower()
    if address.count("@") != 1 or len(address) > 254:
        return "", ""
    return name.strip()[:200], address


def read(raw: bytes) -> ReadMail:
    """Everything the intake reads from a raw message."""
    message = parse(raw)
    name, sender = sender_of(message)
    thread = tuple(
        _MESSAGE_ID.findall(
            header_text(message, "In-Reply-To") + " " + header_text(message, "References")
        )
    )
    return ReadMail(
        message_id=message_id_of(message, raw),
        sender=sender,
        sender_name=name,
        subject=" ".join(header_text(message, "Subject").split())[:300],
        in_reply_to=thread,
        text=body_text(message),
        attachments=tuple(attachments_of(message)),
        automatic=automatic_reason(message, sender),
    )


def header_text(message: EmailMessage, name: str) -> str:
    """A header's text without control characters; "" when it is missing or malformed."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header is as good as none
        return ""
    return _CONTROLS.sub("", str(value)) if value is not None else ""


def automatic_reason(message: EmailMessage, sender: str) -> str | None:
    """Why this message must not be answered, or None (RFC 3834 section 2 and list headers)."""
    auto = header_text(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _LIST_HEADERS:
        if header_text(message, name):
            return f"mailing list ({name})"
    if header_text(message, "X-Autoreply") or header_text(message, "X-Autorespond"):
        return "auto-responder header"
    if header_text(message, "X-Auto-Response-Suppress").strip().lower() in ("all", "autoreply"):
        return "X-Auto-Response-Suppress"
    local = sender.split("@", 1)[0]
    if not sender or local in _DAEMONS or message.get_content_type() == "multipart/report":
        return "a delivery report or a system sender"
    return None


def body_text(message: EmailMessage) -> str:
    """The plain-text body; an HTML-only message made plain (never kept as HTML)."""
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return _content(part).strip()
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(_content(part))
    return ""


def _content(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return _CONTROLS.sub("", content) if isinstance(content, str) else ""


class _TextOfHtml(HTMLParser):
    """Collects the text a person reads; scripts, styles and comments are dropped."""

    _SKIP = {"script", "style", "head", "title", "template"}
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text from HTML: tags removed, entities decoded, blank runs collapsed."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def attachments_of(message: EmailMessage) -> list[Upload]:
    """The files attached (not the bodies), by their own names."""
    found = []
    for part in message.iter_attachments():
        if not isinstance(part, MIMEPart) or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        name = part.get_filename() or ""
        if isinstance(data, bytes) and (name or data):
            found.append(Upload(filename=name, data=data))
    return found


def addresses_in(value: str) -> list[str]:
    """Every address in a To/Cc-like header value, lower-cased."""
    return [address.lower() for _, address in getaddresses([value]) if address]


def display(name: str, address: str) -> str:
    """'Name <address>' as a header value."""
    return str(Address(display_name=name, addr_spec=address)) if name else address
