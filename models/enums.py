"""String enums stored by value in the database."""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import Enum as SAEnum


class LicenceKind(str, Enum):
    USER = "user"
    SUPPORT = "support"


class PinKind(str, Enum):
    STANDING = "standing"
    ONE_TIME = "one_time"
    PRIVILEGED = "privileged"
    # A one-time code texted to a registered contact for a caller without their PIN.
    TEXTED_CODE = "texted_code"


class PinOutcome(str, Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    LOCKED_OUT = "locked_out"


class TicketStatus(str, Enum):
    OPEN = "open"  # nobody has taken it yet
    ACKNOWLEDGED = "acknowledged"  # someone owns it and is working on it
    PENDING = "pending"  # waiting on the customer
    SOLVED = "solved"


class TaskKind(str, Enum):
    """A promise made to a caller: call them back, or answer their message."""

    CALLBACK = "callback"
    RESPOND = "respond"


class TaskState(str, Enum):
    OPEN = "open"  # nobody has said they are on it
    ACKNOWLEDGED = "acknowledged"  # an engineer or user is on it
    DONE = "done"  # called back or marked done


class TaskStage(str, Enum):
    """How far a task's timers have run; each stage is entered once (a conditional UPDATE)."""

    NOTIFIED = "notified"  # the on-call engineer was texted when the task was made
    ESCALATED = "escalated"  # the reminder time passed: the next level was texted
    OVERDUE = "overdue"  # the due time passed: managers were alerted


class TicketOutcome(str, Enum):
    """A ticket's headline outcome, derived from its calls' outcomes (tickets.outcome)."""

    CONNECTED = "connected"
    MISSED = "missed"  # severity 1 and no engineer accepted
    ABANDONED_RINGING = "abandoned_ringing"  # the caller hung up while engineers were rung
    MESSAGE = "message"
    REFUSED = "refused"
    ABANDONED = "abandoned"


class CallOutcome(str, Enum):
    """How one call ended, whatever the other calls on its ticket did."""

    CONNECTED = "connected"  # an engineer accepted the caller
    MISSED = "missed"  # severity 1: every engineer was rung and nobody accepted
    ABANDONED_RINGING = "abandoned_ringing"  # hung up while engineers were being rung
    ABANDONED = "abandoned"  # hung up in the menus
    MESSAGE = "message"  # left a message
    REFUSED = "refused"  # PIN locked out or account not entitled
    TRANSFERRED = "transferred"  # not entitled, handed to account management


class CallState(str, Enum):
    """Where a caller's call stands; each webhook accepts only some of these (ivr.states)."""

    PIN = "pin"  # greeted, asked for the support PIN
    NO_PIN_NUMBER = "no_pin_number"  # no PIN: asked for the company's registered phone number
    NO_PIN_CODE = "no_pin_code"  # no PIN: asked for the one-time code texted to a contact
    PRODUCT = "product"  # PIN accepted and entitled: which product?
    SEVERITY = "severity"  # PIN accepted and entitled: is service completely down?
    SEVERITY_DETAIL = "severity_detail"  # not down: seriously degraded, or a question?
    RINGING = "ringing"  # on hold while engineers are rung
    CONNECTED = "connected"  # an engineer accepted the caller
    MESSAGE = "message"  # asked to leave a message
    TRANSFERRED = "transfer"  # handed to account management
    FINISHED = "done"  # the flow said goodbye
    ENDED = "ended"  # Twilio reported the call over


class NotificationChannel(str, Enum):
    SMS = "sms"
    EMAIL = "email"


class NotificationStatus(str, Enum):
    PENDING = "pending"
    ENQUEUED = "enqueued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    # A role alert with nobody configured behind the role: nothing was sent to anyone.
    NO_RECIPIENT = "no_recipient"


def enum_column(enum_class: type[Enum]) -> Any:
    """Column type storing an enum's values as plain strings (no database enum type)."""
    # A VARCHAR with a CHECK keeps migrations simple on PostgreSQL when values are added later.
    return SAEnum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
