"""An email's attachments, one by one: those the portal would take (type, size, count) and whose
content is what their name says are kept; the others are named, with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from tickets.attachments import AttachmentError, AttachmentLimits, Upload, check_uploads

# What each binary type's bytes start with; a file whose content is not its type is refused.
_MAGIC = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "gz": (b"\x1f\x8b",),
    "tgz": (b"\x1f\x8b",),
    "7z": (b"7z\xbc\xaf\x27\x1c",),
    "doc": (b"\xd0\xcf\x11\xe0",),
    "xls": (b"\xd0\xcf\x11\xe0",),
    "pcap": (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a"),
}
_TEXT = {"txt", "log", "csv", "json", "xml", "yaml", "yml", "har"}
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"#!")


@dataclass(frozen=True)
class Sorted:
    """The files to keep, and a line for each one refused."""

    kept: list[Upload]
    refused: list[str]


def content_problem(upload: Upload) -> str | None:
    """Why the content is not what the name says, or None when it is."""
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if upload.data.startswith(_EXECUTABLE):
        return "it is a program"
    if extension in _MAGIC and not upload.data.startswith(_MAGIC[extension]):
        return f"its content is not a .{extension} file"
    if extension in _TEXT and b"\x00" in upload.data[:8192]:
        return f"its content is not a .{extension} text file"
    return None


def sort_files(uploads: tuple[Upload, ...], limits: AttachmentLimits) -> Sorted:
    """Check each file on its own, as the portal would; at most `max_files` are kept."""
    kept: list[Upload] = []
    refused: list[str] = []
    one_at_a_time = AttachmentLimits(limits.max_bytes, 1, limits.extensions)
    for upload in uploads:
        try:
            checked_list = check_uploads([upload], one_at_a_time)
        except AttachmentError as exc:
            refused.append(str(exc))
            continue
        if not checked_list:
            continue
        checked = checked_list[0]
        problem = content_problem(checked)
        if problem is not None:
            refused.append(f"the file {checked.filename} was not kept: {problem}")
        elif len(kept) >= limits.max_files:
            refused.append(f"the file {checked.filename} was not kept: at most {limits.max_files}")
        else:
            kept.append(checked)
    return Sorted(kept, refused)
