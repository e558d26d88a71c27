"""A ticket's call timeline as managers read it: events, ring attempts and key durations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from models import CallEvent, Ticket

# Never rendered, whatever a writer put in an event's detail: PINs are secret.
HIDDEN_KEYS = frozenset({"pin", "digits", "keys", "typed", "pin_digits", "entered"})

LABELS = {
    "call_started": "Call started",
    "pin_ok": "PIN accepted",
    "pin_failed": "PIN refused",
    "entitlement": "Entitlement checked",
    "menu": "Menu choice",
    "severity": "Severity chosen",
    "recording": "Voicemail recorded",
    "transcription": "Transcription ready",
    "ring_attempt": "Engineer rung",
    "accepted": "Engineer accepted",
    "bridged": "Caller connected",
    "hangup": "Hang-up",
    "call_completed": "Call completed",
    "nobody_accepted": "Nobody accepted",
    "callback_task": "Callback needed",
    "notification_dead": "Notification never delivered",
}

# How each ring result reads, and how it colours the timeline.
RING_RESULTS = {
    "accepted": ("accepted", "good"),
    "passed": ("passed", "warn"),
    "no_answer": ("no answer", "warn"),
    "no-answer": ("no answer", "warn"),
    "busy": ("busy", "warn"),
    "failed": ("call failed", "bad"),
    "voicemail": ("voicemail, hung up", "warn"),
    "cancelled": ("cancelled, someone else took it", "neutral"),
    "ringing": ("ringing", "neutral"),
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


@dataclass
class Timeline:
    """Everything the ticket page shows about the calls behind a ticket."""

    entries: list[TimelineEntry] = field(default_factory=list)
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
    return [
        (str(key).replace("_", " "), _text(value))
        for key, value in sorted(detail.items())
        if str(key).lower() not in HIDDEN_KEYS
    ]


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


def _summary(event: CallEvent) -> tuple[str, str]:
    d = event.detail or {}
    kind = event.kind
    if kind == "pin_ok":
        pin_kind = d.get("pin_kind") or d.get("kind")
        return (f"{pin_kind} PIN" if pin_kind else "PIN accepted"), "good"
    if kind == "pin_failed":
        return f"outcome: {d.get('outcome', 'refused')}", "bad"
    if kind == "entitlement":
        entitled = d.get("entitled")
        if entitled:
            return "entitled to support", "good"
        return f"not entitled: {d.get('reason') or 'no reason given'}", "bad"
    if kind == "severity":
        return f"severity {d.get('severity', '?')}", "neutral"
    if kind == "menu":
        return str(d.get("choice") or d.get("digits_meaning") or ""), "neutral"
    if kind == "ring_attempt":
        text, tone = ring_result(d.get("result"))
        seconds = f" after {format_seconds(d['seconds'])}" if d.get("seconds") is not None else ""
        return f"{engineer_label(d)}: {text}{seconds}", tone
    if kind in ("accepted", "bridged"):
        return engineer_label(d, ""), "good"
    if kind == "nobody_accepted":
        return "every engineer rung missed or passed the call", "bad"
    if kind == "callback_task":
        return f"call the customer back: {d.get('reason') or 'no reason given'}", "warn"
    if kind == "notification_dead":
        channel = str(d.get("channel") or "message").upper()
        attempts = d.get("attempts")
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
        what = f"{channel} to {d.get('recipient', '?')} ({d.get('notification_kind', '?')})"
        return f"{what} gave up{tries}: {d.get('error') or 'no error recorded'}", "bad"
    if kind == "call_completed":
        return f"duration {format_seconds(d.get('duration'))}", "neutral"
    if kind == "transcription":
        return str(d.get("text") or "")[:120], "neutral"
    if kind == "recording":
        return format_seconds(d.get("duration")), "neutral"
    if kind == "hangup":
        return str(d.get("step") or d.get("reason") or ""), "warn"
    return "", "neutral"


def ring_result(result: Any) -> tuple[str, str]:
    """A ring result as words and a tone; an unknown one as itself."""
    key = str(result or "?")
    return RING_RESULTS.get(key, (key.replace("_", " "), "warn"))


def engineer_label(detail: dict[str, Any], unknown: str = "?") -> str:
    """The engineer an event names: their name, else their key, else the number rung."""
    return str(
        detail.get("engineer_name") or detail.get("engineer") or detail.get("number") or unknown
    )


def build_timeline(ticket: Ticket) -> Timeline:
    """The ticket's events in order, with ring attempts, PIN and entitlement pulled out."""
    timeline = Timeline()
    events = sorted(ticket.events, key=lambda e: (e.at, e.id))
    calls = sorted(ticket.calls, key=lambda c: c.started_at)
    start = calls[0].started_at if calls else (events[0].at if events else None)
    for event in events:
        if event.kind == "call_started" and start is None:
            start = event.at
    first: dict[str, datetime] = {}
    for event in events:
        d = event.detail or {}
        first.setdefault(event.kind, event.at)
        label = LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
        summary, tone = _summary(event)
        url = (
            _safe_url(d.get("url") or d.get("recording_url")) if event.kind == "recording" else None
        )
        if url:
            timeline.recordings.append(url)
        if event.kind == "transcription" and d.get("text"):
            timeline.transcription = str(d["text"])
        if event.kind == "pin_ok":
            timeline.pin_outcome = "accepted"
        elif event.kind == "pin_failed" and timeline.pin_outcome != "accepted":
            timeline.pin_outcome = f"refused ({d.get('outcome', 'unknown')})"
        if event.kind == "entitlement":
            timeline.entitlement = {"entitled": bool(d.get("entitled")), "reason": d.get("reason")}
        if event.kind == "ring_attempt":
            timeline.rings.append(
                {
                    "engineer": engineer_label(d),
                    "number": d.get("number")
                    if d.get("engineer_name") or d.get("engineer")
                    else None,
                    "started": _clock(d.get("started")),
                    "ended": _clock(d.get("ended")),
                    "result": d.get("result", "?"),
                    "result_text": ring_result(d.get("result"))[0],
                    "seconds": format_seconds(d.get("seconds")),
                }
            )
            first.setdefault("ring", event.at)
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
            )
        )
    if start is not None:
        connected = first.get("bridged") or first.get("accepted")
        timeline.durations = [
            ("PIN accepted", _since(start, first.get("pin_ok"))),
            # Ringing starts when the caller is put on hold; attempts are logged as they end.
            (
                "First ring",
                _since(start, first.get("ringing_started") or first.get("ring_attempt")),
            ),
            ("Engineer connected", _since(start, connected)),
            ("Call length", _call_length(ticket, events)),
        ]
    return timeline


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


def _call_length(ticket: Ticket, events: list[CallEvent]) -> str:
    for call in ticket.calls:
        if call.duration_seconds is not None:
            return format_seconds(call.duration_seconds)
    for event in events:
        if event.kind == "call_completed" and (event.detail or {}).get("duration") is not None:
            return format_seconds(event.detail["duration"])
    return "—"
