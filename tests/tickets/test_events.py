"""The call-event vocabulary: every kind has its payload and a label, and rows read back typed."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard.timeline import LABELS
from models import CallEvent
from tickets import events
from tickets.events import PAYLOADS, EventKind, read_event


def test_every_kind_has_a_payload_and_a_timeline_label() -> None:
    assert set(PAYLOADS) == set(EventKind) == set(LABELS)


def test_a_row_written_before_typed_events_reads_back_with_the_same_keys() -> None:
    # The detail exactly as ivr/flow.py stored a voicemail before this module existed.
    row = CallEvent(
        kind="recording",
        at=datetime(2026, 3, 2, tzinfo=UTC),
        detail={"url": "https://api.twilio.com/rec/RE1", "seconds": 42},
    )
    payload = read_event(row)
    assert payload == events.Recording(url="https://api.twilio.com/rec/RE1", seconds=42)
    assert payload is not None and payload.to_json() == row.detail


def test_an_unknown_or_malformed_row_reads_as_nothing() -> None:
    assert read_event(CallEvent(kind="bridged", detail={"engineer": "Dana"})) is None
    assert read_event(CallEvent(kind="recording", detail={"duration": 42})) is None
