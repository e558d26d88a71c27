"""A ticket's call timeline as managers read it: events, ring attempts and key durations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from models import CallEvent, Ticket
from models.ringing import AttemptStatus
from tickets import events
from tickets.events import EventKind, event_kind, payload_of, read_event

# Never rendered, whatever a writer put in an event's detail: PINs are secret.
HIDDEN_KEYS = frozenset({"pin", "digits", "keys", "typed", "pin_digits", "entered"})

LABELS = {
    EventKind.CALL_STARTED: "Call started",
    EventKind.NO_INPUT: "No input",
    EventKind.PIN_OK: "PIN accepted",
    EventKind.PIN_FAILED: "PIN refused",
    EventKind.LOCKED_OUT: "Locked out",
    EventKind.ENTITLEMENT: "Entitlement checked",
    EventKind.MENU: "Menu choice",
    EventKind.MENU_INVALID: "Invalid menu choice",
    EventKind.SEVERITY: "Severity chosen",
    EventKind.JOINED_TICKET: "Joined open ticket",
    EventKind.RINGING_STARTED: "Ringing started",
    EventKind.RING_ATTEMPT: "Engineer rung",
    EventKind.ACCEPTED: "Engineer accepted",
    EventKind.NOBODY_ACCEPTED: "Nobody accepted",
    EventKind.HOLD_ENDED: "Hold ended",
    EventKind.RECORDING: "Voicemail recorded",
    EventKind.RECORDING_EMPTY: "No message heard",
    EventKind.TRANSCRIPTION: "Transcription ready",
    EventKind.RECORDING_STATUS: "Recording stored",
    EventKind.CALL_ENDED: "Call ended",
    EventKind.ABANDONED: "Abandoned",
    EventKind.CALLBACK_TASK: "Callback needed",
    EventKind.NOTIFICATION_DEAD: "Notification never delivered",
    EventKind.SMS_WITHHELD: "SMS not sent",
    EventKind.DEGRADED_DIAL: "Rung while the database was down",
    EventKind.ALERT_REACHED_NOBODY: "Alert reached nobody",
    EventKind.TASK_ESCALATED: "Callback escalated",
    EventKind.TASK_OVERDUE: "Task overdue: managers alerted",
    EventKind.TASK_DONE: "Task done",
    EventKind.ASSIGNED: "Assigned",
    EventKind.SEVERITY_ASSUMED: "Severity taken for the caller",
    EventKind.CODE_SENT: "One-time code texted (no PIN)",
    EventKind.NO_PIN_REFUSED: "No PIN and no contact to text",
    EventKind.REDIAL: "Redial with the same one-time PIN",
    EventKind.LANGUAGE: "Language chosen",
    EventKind.HOLD_MESSAGE_CHOSEN: "Chose a message on hold",
}

# How each ring result reads, and how it colours the timeline.
RING_RESULTS = {
    AttemptStatus.ACCEPTED: ("accepted", "good"),
    AttemptStatus.PASSED: ("passed", "warn"),
    AttemptStatus.NO_ANSWER: ("no answer", "warn"),
    AttemptStatus.BUSY: ("busy", "warn"),
    AttemptStatus.FAILED: ("call failed", "bad"),
    AttemptStatus.VOICEMAIL: ("voicemail, hung up", "warn"),
    AttemptStatus.CANCELLED: ("cancelled, someone else took it", "neutral"),
    AttemptStatus.RINGING: ("ringing", "neutral"),
    AttemptStatus.ANSWERED: ("answered", "neutral"),
    AttemptStatus.QUEUED: ("queued", "neutral"),
}


@dataclass(frozen=True)
class TimelineEntry:
    """One event as a line of the timeline."""

    at: datetime
    offset: str
    kind: str
    label: str
    summary: str
    tone: str
    details: list[tuple[str, str]]
    recording_url: str | None = None
    # Who a ring attempt rang (to tell one ringing round from the next).
    rung: str | None = None


class PhaseKind(str, Enum):
    """The parts of a call, as the timeline groups them."""

    IVR = "ivr"
    RINGING = "ringing"
    CONNECTED = "connected"
    FOLLOW_UPS = "follow_ups"


PHASE_OF: dict[EventKind, PhaseKind] = {
    **dict.fromkeys(
        (
            EventKind.CALL_STARTED,
            EventKind.NO_INPUT,
            EventKind.PIN_OK,
            EventKind.PIN_FAILED,
            EventKind.LOCKED_OUT,
            EventKind.ENTITLEMENT,
            EventKind.MENU,
            EventKind.MENU_INVALID,
            EventKind.SEVERITY,
            EventKind.JOINED_TICKET,
        ),
        PhaseKind.IVR,
    ),
    **dict.fromkeys(
        (
            EventKind.RINGING_STARTED,
            EventKind.RING_ATTEMPT,
            EventKind.NOBODY_ACCEPTED,
            EventKind.HOLD_ENDED,
            EventKind.DEGRADED_DIAL,
        ),
        PhaseKind.RINGING,
    ),
    EventKind.ACCEPTED: PhaseKind.CONNECTED,
}
# Ends the phase it happens in rather than starting one.
_CLOSING = frozenset({EventKind.CALL_ENDED, EventKind.ABANDONED})


@dataclass
class Phase:
    """Consecutive timeline entries of one part of one call (a ringing round is one phase)."""

    kind: PhaseKind
    call_no: int
    round_no: int
    entries: list[TimelineEntry] = field(default_factory=list)
    # Later rounds that went exactly like this one, folded under it.
    repeats: list[Phase] = field(default_factory=list)
    ends_at: datetime | None = None

    @property
    def title(self) -> str:
        """'IVR', 'Ringing, round 2', 'Connected', 'Follow-ups' (with the call, if not the 1st)."""
        name = {
            PhaseKind.IVR: "IVR",
            PhaseKind.RINGING: f"Ringing, round {self.round_no}",
            PhaseKind.CONNECTED: "Connected",
            PhaseKind.FOLLOW_UPS: "Follow-ups",
        }[self.kind]
        return f"Call {self.call_no} · {name}" if self.call_no > 1 else name

    @property
    def starts_at(self) -> datetime:
        return self.entries[0].at

    @property
    def seconds(self) -> float:
        """How long the phase lasted (to the next phase's start, or its own last entry)."""
        end = self.ends_at or self.entries[-1].at
        return (end - self.starts_at).total_seconds()

    def outcome(self) -> tuple[tuple[str, str], ...]:
        """What happened in it (not when), to recognise a round that repeats the one before."""
        return tuple(
            (e.kind, e.summary) for e in self.entries if e.kind != EventKind.RINGING_STARTED.value
        )


@dataclass
class Timeline:
    """Everything the ticket page shows about the calls behind a ticket."""

    entries: list[TimelineEntry] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    rings: list[dict[str, Any]] = field(default_factory=list)
    durations: list[tuple[str, str]] = field(default_factory=list)
    pin_outcome: str | None = None
    entitlement: dict[str, Any] | None = None
    recordings: list[str] = field(default_factory=list)
    transcription: str | None = None


def format_seconds(seconds: float | None) -> str:
    """'42 s', '3 min 05 s' or '—'."""
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _visible(detail: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = [
        (str(key).replace("_", " "), _text(value))
        for key, value in sorted(detail.items())
        if str(key).lower() not in HIDDEN_KEYS
    ]
    # Empty fields say nothing; the raw values are kept behind the "details" toggle.
    return [(key, value) for key, value in pairs if value != ""]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items() if k not in HIDDEN_KEYS)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _safe_url(value: Any) -> str | None:
    # Only web URLs reach an <audio src>; anything else (javascript:, data:) is dropped.
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def _summary(payload: events.Payload | None) -> tuple[str, str]:
    match payload:
        case events.PinOk(pin_kind=pin_kind):
            return (f"{pin_kind} PIN" if pin_kind else "PIN accepted"), "good"
        case events.PinFailed(outcome=outcome):
            return f"outcome: {outcome}", "bad"
        case events.Entitlement(entitled=True):
            return "entitled to support", "good"
        case events.Entitlement(reason=reason):
            return f"not entitled: {reason or 'no reason given'}", "bad"
        case events.Severity(severity=severity):
            return f"severity {severity}", "neutral"
        case events.Menu(choice=choice):
            return choice, "neutral"
        case events.RingAttempt() as rung:
            text, tone = ring_result(rung.result)
            after = f" after {format_seconds(rung.seconds)}" if rung.seconds is not None else ""
            return f"{engineer_label(rung)}: {text}{after}", tone
        case events.Accepted() as accepted:
            return engineer_label(accepted, ""), "good"
        case events.NobodyAccepted():
            return "every engineer rung missed or passed the call", "bad"
        case events.CallbackTask(reason=reason):
            return f"call the customer back: {reason or 'no reason given'}", "warn"
        case events.NotificationDead() as dead:
            n = dead.attempts
            tries = f" after {n} attempt{'s' if n != 1 else ''}" if n else ""
            what = f"{dead.channel.upper()} to {dead.recipient} ({dead.notification_kind})"
            return f"{what} gave up{tries}: {dead.error or 'no error recorded'}", "bad"
        case events.CallEnded(seconds=seconds):
            return f"duration {format_seconds(seconds)}", "neutral"
        case events.Transcription(text=text):
            return text[:120], "neutral"
        case events.Recording(seconds=seconds):
            return format_seconds(seconds), "neutral"
        case events.Abandoned(step=step):
            return f"hung up at {step}", "warn"
        case events.SmsWithheld(reason=reason):
            return reason.replace("_", " "), "warn"
        case events.DegradedDial(status=status):
            return f"unchecked caller, {status or 'no result'}", "warn"
        case events.AlertReachedNobody(channel=channel, notification_kind=kind, setting=setting):
            return (
                f"{channel.upper()} {kind.replace('_', ' ')} sent to nobody: {setting} is not set",
                "bad",
            )
        case events.TaskEscalated(notified=notified):
            return f"not acknowledged in time: {notified} more engineer(s) texted", "warn"
        case events.TaskOverdue():
            return "past its due time and not done", "bad"
        case events.TaskDone(by=by, resolution=resolution):
            return f"{by}: {resolution}", "good"
        case events.Assigned(assignee=assignee, by=by):
            return f"to {assignee or 'nobody'} by {by}", "neutral"
    return "", "neutral"


def ring_result(result: str) -> tuple[str, str]:
    """A ring result (an AttemptStatus value) as words and a tone; an unknown one as itself."""
    try:
        return RING_RESULTS[AttemptStatus(result)]
    except ValueError:
        return (result.replace("_", " ") or "?"), "warn"


def engineer_label(event: events.RingAttempt | events.Accepted, unknown: str = "?") -> str:
    """The engineer an event names: their name, else the number rung."""
    return event.engineer_name or event.engineer or unknown


def build_timeline(ticket: Ticket) -> Timeline:
    """The ticket's events in order, with ring attempts, PIN and entitlement pulled out."""
    timeline = Timeline()
    events_in_order = sorted(ticket.events, key=lambda e: (e.at, e.id))
    calls = sorted(ticket.calls, key=lambda c: c.started_at)
    start = calls[0].started_at if calls else (events_in_order[0].at if events_in_order else None)
    first: dict[EventKind, datetime] = {}
    for event in events_in_order:
        d = event.detail or {}
        payload = read_event(event)
        kind = event_kind(event.kind)
        if kind is not None:
            first.setdefault(kind, event.at)
        label = LABELS[kind] if kind else event.kind.replace("_", " ").capitalize()
        summary, tone = _summary(payload)
        url = _safe_url(payload.url) if isinstance(payload, events.Recording) else None
        if url:
            timeline.recordings.append(url)
        match payload:
            case events.Transcription(text=text) if text:
                timeline.transcription = text
            case events.PinOk():
                timeline.pin_outcome = "accepted"
            case events.PinFailed(outcome=outcome) if timeline.pin_outcome != "accepted":
                timeline.pin_outcome = f"refused ({outcome})"
            case events.Entitlement(entitled=entitled, reason=reason):
                timeline.entitlement = {"entitled": entitled, "reason": reason}
            case events.RingAttempt() as rung:
                timeline.rings.append(
                    {
                        "engineer": engineer_label(rung),
                        "number": rung.number if rung.engineer_name or rung.engineer else None,
                        "started": _clock(rung.started),
                        "ended": _clock(rung.ended),
                        "result": rung.result,
                        "result_text": ring_result(rung.result)[0],
                        "seconds": format_seconds(rung.seconds),
                    }
                )
        offset = "+" + format_seconds((event.at - start).total_seconds()) if start else ""
        timeline.entries.append(
            TimelineEntry(
                at=event.at,
                offset=offset,
                kind=event.kind,
                label=label,
                summary=summary,
                tone=tone,
                details=_visible(d),
                recording_url=url,
                rung=engineer_label(payload) if isinstance(payload, events.RingAttempt) else None,
            )
        )
    timeline.phases = group_phases(timeline.entries)
    if start is not None:
        timeline.durations = [
            ("PIN accepted", _since(start, first.get(EventKind.PIN_OK))),
            # Ringing starts when the caller is put on hold; attempts are logged as they end.
            (
                "First ring",
                _since(
                    start, first.get(EventKind.RINGING_STARTED) or first.get(EventKind.RING_ATTEMPT)
                ),
            ),
            # Connected is the moment an engineer accepted: the caller is bridged at once.
            ("Engineer connected", _since(start, first.get(EventKind.ACCEPTED))),
            ("Call length", _call_length(ticket, events_in_order)),
        ]
    return timeline


def group_phases(entries: list[TimelineEntry]) -> list[Phase]:
    """Entries grouped by call and phase; ringing split into rounds (an engineer rung again
    starts the next round) and a round that went exactly like the one before folded into it."""
    phases: list[Phase] = []
    call_no = 0
    round_no = 0
    rung_this_round: set[str | None] = set()
    for entry in entries:
        kind = event_kind(entry.kind)
        current = phases[-1] if phases else None
        if kind is EventKind.CALL_STARTED or current is None:
            call_no += 1
            round_no = 0
        wanted = PHASE_OF.get(kind) if kind is not None else None
        if wanted is None:
            # Closing events stay in their phase; anything else after a call is a follow-up.
            wanted = current.kind if current and kind in _CLOSING else PhaseKind.FOLLOW_UPS
        new_round = wanted is PhaseKind.RINGING and (
            current is None
            or current.kind is not PhaseKind.RINGING
            or (entry.rung is not None and entry.rung in rung_this_round)
        )
        if (
            current is None
            or kind is EventKind.CALL_STARTED
            or wanted is not current.kind
            or new_round
        ):
            if new_round:
                round_no += 1
                rung_this_round = set()
            if current is not None:
                current.ends_at = entry.at
            current = Phase(kind=wanted, call_no=call_no, round_no=round_no)
            phases.append(current)
        current.entries.append(entry)
        if entry.rung is not None:
            rung_this_round.add(entry.rung)
    return _fold_repeats(phases)


def _fold_repeats(phases: list[Phase]) -> list[Phase]:
    folded: list[Phase] = []
    for phase in phases:
        last = folded[-1] if folded else None
        if (
            last is not None
            and phase.kind is PhaseKind.RINGING
            and last.kind is PhaseKind.RINGING
            and last.call_no == phase.call_no
            and phase.outcome()
            and phase.outcome() == last.outcome()
        ):
            last.repeats.append(phase)
            continue
        folded.append(phase)
    return folded


def _clock(value: object) -> object:
    """An ISO timestamp from an event's detail as HH:MM:SS (UTC); anything else as it is."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(UTC).strftime("%H:%M:%S")
        except ValueError:
            return value
    return value


def _since(start: datetime, moment: datetime | None) -> str:
    return format_seconds((moment - start).total_seconds()) if moment else "—"


def _call_length(ticket: Ticket, rows: list[CallEvent]) -> str:
    for call in ticket.calls:
        if call.duration_seconds is not None:
            return format_seconds(call.duration_seconds)
    for row in rows:
        ended = payload_of(row, events.CallEnded)
        if ended is not None and ended.seconds is not None:
            return format_seconds(ended.seconds)
    return "—"
