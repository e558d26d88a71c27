"""Every kind of event on a ticket's call timeline, with the typed detail each one carries.

Writers pass one of the payload classes below to `tickets.calls.record_event`; the payload's
class fixes the event's kind, so a writer cannot pair a kind with the wrong detail. Readers
turn a stored row back into its payload with `read_event` and use attributes, so mypy checks
every reader against the writer. The stored JSON keeps the field names as its keys (the same
keys the rows written before this module have), so old rows read unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

from models import CallEvent


class EventKind(str, Enum):
    """What happened on a call; stored in CallEvent.kind."""

    CALL_STARTED = "call_started"
    NO_INPUT = "no_input"
    PIN_FAILED = "pin_failed"
    LOCKED_OUT = "locked_out"
    PIN_OK = "pin_ok"
    ENTITLEMENT = "entitlement"
    MENU = "menu"
    MENU_INVALID = "menu_invalid"
    SEVERITY = "severity"
    JOINED_TICKET = "joined_ticket"
    RINGING_STARTED = "ringing_started"
    RING_ATTEMPT = "ring_attempt"
    ACCEPTED = "accepted"
    NOBODY_ACCEPTED = "nobody_accepted"
    HOLD_ENDED = "hold_ended"
    RECORDING = "recording"
    RECORDING_EMPTY = "recording_empty"
    TRANSCRIPTION = "transcription"
    RECORDING_STATUS = "recording_status"
    CALL_ENDED = "call_ended"
    ABANDONED = "abandoned"
    CALLBACK_TASK = "callback_task"
    NOTIFICATION_DEAD = "notification_dead"
    SMS_WITHHELD = "sms_withheld"
    DEGRADED_DIAL = "degraded_dial"
    ALERT_REACHED_NOBODY = "alert_reached_nobody"
    TASK_ESCALATED = "task_escalated"
    TASK_OVERDUE = "task_overdue"
    TASK_DONE = "task_done"
    ASSIGNED = "assigned"
    SEVERITY_ASSUMED = "severity_assumed"
    CODE_SENT = "code_sent"
    NO_PIN_REFUSED = "no_pin_refused"
    REDIAL = "redial"
    LANGUAGE = "language"
    HOLD_MESSAGE_CHOSEN = "hold_message_chosen"


@dataclass(frozen=True)
class Payload:
    """The detail of one event; each subclass names its kind."""

    KIND: ClassVar[EventKind]

    def to_json(self) -> dict[str, Any]:
        """The detail as stored in CallEvent.detail."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CallStarted(Payload):
    KIND = EventKind.CALL_STARTED
    caller: str


@dataclass(frozen=True)
class NoInput(Payload):
    KIND = EventKind.NO_INPUT
    step: str
    count: int


@dataclass(frozen=True)
class PinFailed(Payload):
    KIND = EventKind.PIN_FAILED
    outcome: str


@dataclass(frozen=True)
class LockedOut(Payload):
    KIND = EventKind.LOCKED_OUT
    reason: str | None = None


@dataclass(frozen=True)
class PinOk(Payload):
    KIND = EventKind.PIN_OK
    account: str
    pin_kind: str | None = None
    elevated_until: str | None = None


@dataclass(frozen=True)
class Entitlement(Payload):
    KIND = EventKind.ENTITLEMENT
    entitled: bool
    reason: str | None = None
    support_licences: int = 0
    user_licences: int = 0


@dataclass(frozen=True)
class Menu(Payload):
    KIND = EventKind.MENU
    step: str
    choice: str


@dataclass(frozen=True)
class MenuInvalid(Payload):
    KIND = EventKind.MENU_INVALID
    step: str


@dataclass(frozen=True)
class Severity(Payload):
    KIND = EventKind.SEVERITY
    severity: int


@dataclass(frozen=True)
class JoinedTicket(Payload):
    KIND = EventKind.JOINED_TICKET
    ticket: str


@dataclass(frozen=True)
class RingingStarted(Payload):
    KIND = EventKind.RINGING_STARTED
    engineers: int


@dataclass(frozen=True)
class RingAttempt(Payload):
    """One engineer rung and how it ended (result: a models.ringing.AttemptStatus value)."""

    KIND = EventKind.RING_ATTEMPT
    engineer: str
    number: str
    result: str
    step: int
    started: str  # ISO 8601
    ended: str  # ISO 8601
    engineer_name: str | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class Accepted(Payload):
    """An engineer pressed 1 and was given the caller: the call is connected."""

    KIND = EventKind.ACCEPTED
    engineer: str
    engineer_name: str | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class NobodyAccepted(Payload):
    KIND = EventKind.NOBODY_ACCEPTED
    tried: list[str]


@dataclass(frozen=True)
class HoldEnded(Payload):
    KIND = EventKind.HOLD_ENDED
    result: str  # a kernel.twilio_fields.QueueResult value


@dataclass(frozen=True)
class Recording(Payload):
    """A voicemail left: its URL and its length in seconds."""

    KIND = EventKind.RECORDING
    url: str
    seconds: int
    # Taken by the degraded path while the database was unreachable (replayed from the journal).
    degraded: bool = False

    def to_json(self) -> dict[str, Any]:
        """The detail as stored; `degraded` only where it is true, as rows always had it."""
        detail = super().to_json()
        if not self.degraded:
            del detail["degraded"]
        return detail


@dataclass(frozen=True)
class RecordingEmpty(Payload):
    KIND = EventKind.RECORDING_EMPTY


@dataclass(frozen=True)
class Transcription(Payload):
    KIND = EventKind.TRANSCRIPTION
    status: str
    text: str


@dataclass(frozen=True)
class RecordingStatus(Payload):
    KIND = EventKind.RECORDING_STATUS
    status: str
    url: str


@dataclass(frozen=True)
class CallEnded(Payload):
    """Twilio reported the call over (status: a kernel.twilio_fields.CallStatus value)."""

    KIND = EventKind.CALL_ENDED
    status: str
    seconds: int | None = None


@dataclass(frozen=True)
class Abandoned(Payload):
    KIND = EventKind.ABANDONED
    step: str  # the models.CallState value the caller hung up in


@dataclass(frozen=True)
class CallbackTask(Payload):
    KIND = EventKind.CALLBACK_TASK
    reason: str


@dataclass(frozen=True)
class NotificationDead(Payload):
    KIND = EventKind.NOTIFICATION_DEAD
    notification_id: int
    notification_kind: str
    channel: str
    recipient: str
    attempts: int
    error: str


@dataclass(frozen=True)
class SmsWithheld(Payload):
    KIND = EventKind.SMS_WITHHELD
    reason: str  # a notify.caller_sms.Withheld value


@dataclass(frozen=True)
class DegradedDial(Payload):
    """One ring of the degraded path (database unreachable), replayed onto the ticket."""

    KIND = EventKind.DEGRADED_DIAL
    attempt: int
    status: str
    leg: str


@dataclass(frozen=True)
class AlertReachedNobody(Payload):
    """A role alert (managers) with nobody configured behind the role: nothing was sent."""

    KIND = EventKind.ALERT_REACHED_NOBODY
    notification_id: int
    notification_kind: str
    channel: str
    setting: str  # the setting that names nobody, e.g. MANAGER_PHONES


@dataclass(frozen=True)
class TaskEscalated(Payload):
    """Nobody acknowledged a task by its reminder time: the next level was texted."""

    KIND = EventKind.TASK_ESCALATED
    task_id: int
    notified: int


@dataclass(frozen=True)
class TaskOverdue(Payload):
    """A task passed its due time undone: managers were alerted."""

    KIND = EventKind.TASK_OVERDUE
    task_id: int


@dataclass(frozen=True)
class TaskDone(Payload):
    KIND = EventKind.TASK_DONE
    task_id: int
    by: str
    resolution: str


@dataclass(frozen=True)
class Assigned(Payload):
    KIND = EventKind.ASSIGNED
    assignee: str | None
    by: str


@dataclass(frozen=True)
class SeverityAssumed(Payload):
    """The caller gave no usable answer: the safest severity was taken for them."""

    KIND = EventKind.SEVERITY_ASSUMED
    step: str
    severity: int
    why: str


@dataclass(frozen=True)
class CodeSent(Payload):
    """A caller without a PIN was texted a one-time code (only the phone's last digits kept)."""

    KIND = EventKind.CODE_SENT
    account: str
    to_last4: str
    pin_id: int
    matched_by: str


@dataclass(frozen=True)
class NoPinRefused(Payload):
    """The way through without a PIN found no registered contact to text."""

    KIND = EventKind.NO_PIN_REFUSED
    reason: str


@dataclass(frozen=True)
class Redial(Payload):
    """A one-time PIN worked again on a redial after its call dropped."""

    KIND = EventKind.REDIAL
    dropped_call: str


@dataclass(frozen=True)
class Language(Payload):
    """The caller chose the language of the prompts with the key offered at the greeting."""

    KIND = EventKind.LANGUAGE
    language: str


@dataclass(frozen=True)
class HoldMessageChosen(Payload):
    """On hold, the caller chose to leave a message and be called back."""

    KIND = EventKind.HOLD_MESSAGE_CHOSEN
    waited: int


PAYLOADS: dict[EventKind, type[Payload]] = {
    cls.KIND: cls
    for cls in (
        CallStarted,
        NoInput,
        PinFailed,
        LockedOut,
        PinOk,
        Entitlement,
        Menu,
        MenuInvalid,
        Severity,
        JoinedTicket,
        RingingStarted,
        RingAttempt,
        Accepted,
        NobodyAccepted,
        HoldEnded,
        Recording,
        RecordingEmpty,
        Transcription,
        RecordingStatus,
        CallEnded,
        Abandoned,
        CallbackTask,
        NotificationDead,
        SmsWithheld,
        DegradedDial,
        AlertReachedNobody,
        TaskEscalated,
        TaskOverdue,
        TaskDone,
        Assigned,
        SeverityAssumed,
        CodeSent,
        NoPinRefused,
        Redial,
        Language,
        HoldMessageChosen,
    )
}
P = TypeVar("P", bound=Payload)


def event_kind(raw: str) -> EventKind | None:
    """The EventKind stored as `raw`, or None for a kind this version does not know."""
    try:
        return EventKind(raw)
    except ValueError:
        return None


def from_json(payload_type: type[P], detail: dict[str, Any] | None) -> P | None:
    """`detail` as a `payload_type`, or None when a field it needs is missing."""
    detail = detail or {}
    names = {f.name for f in dataclasses.fields(payload_type)}
    try:
        return payload_type(**{k: v for k, v in detail.items() if k in names})
    except TypeError:
        return None


def read_event(event: CallEvent) -> Payload | None:
    """A stored event's typed payload; None for an unknown kind or a malformed detail."""
    kind = event_kind(event.kind)
    return None if kind is None else from_json(PAYLOADS[kind], event.detail)


def payload_of(event: CallEvent, payload_type: type[P]) -> P | None:
    """The event's payload when it is of `payload_type`, else None."""
    if event.kind != payload_type.KIND.value:
        return None
    return from_json(payload_type, event.detail)
