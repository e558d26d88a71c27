"""Log output that a request cannot forge: control characters in a message are escaped."""

from __future__ import annotations

import logging
import re
import sys

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything that could
# end a line, move the cursor or recolour a terminal when a log line is printed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# In a traceback the newlines are its structure; everything else is escaped as above.
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` on one line: every control character written as a visible escape (\\n, \\x1b)."""
    return _CONTROL.sub(_escape, text)


class OneLineFormatter(logging.Formatter):
    """Formats the message (with its arguments) on one line; tracebacks keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # A trailing newline forges nothing (some libraries end their messages with one).
        return escape_controls(super().formatMessage(record).rstrip("\r\n"))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return _CONTROL_BUT_NEWLINE.sub(_escape, super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _CONTROL_BUT_NEWLINE.sub(_escape, super().formatStack(stack_info))


def configure_logging(level: int = logging.INFO) -> None:
    """Send log records to stderr on one line each, unless logging is already configured."""
    root = logging.getLogger()
    # A deployment's own logging configuration (or pytest's capture) wins over ours.
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLineFormatter(FORMAT))
        root.addHandler(handler)
        root.setLevel(level)
    # twilio-python logs every request and response header at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
