"""Migration 0014 gives every existing call its own record, read back from its timeline."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from hotline.migrate import upgrade
from kernel.db import make_engine

T = "2026-03-02 09:00:{:02d}.000000"


def _seed(conn: object) -> None:
    """Three tickets as the versions before 0014 left them (SQLite, naive UTC times)."""
    rows = [
        "INSERT INTO accounts (id, name, created_at) VALUES (1, 'Acme', '2026-01-01 00:00:00')",
        "INSERT INTO products (id, code, name) VALUES (1, 'db', 'Db')",
    ]
    # 1: connected after a privileged PIN; 2: nobody accepted, then a message ("message" then);
    # 3: hung up while engineers rang ("abandoned" then).
    outcomes = {1: "connected", 2: "message", 3: "abandoned"}
    for n, outcome in outcomes.items():
        rows.append(
            "INSERT INTO tickets (id, account_id, product_id, category, subject, description, "
            f"status, outcome, created_at, updated_at) VALUES ({n}, 1, 1, 'phone', 's', '', "
            f"'open', '{outcome}', '{T.format(0)}', '{T.format(0)}')"
        )
        rows.append(
            "INSERT INTO calls (id, call_sid, ticket_id, direction, from_number, to_number, "
            "status, state, turn, menu_mistakes, silent_prompts, started_at) VALUES "
            f"({n}, 'CA{n}', {n}, 'inbound', '+1555000000{n}', '+15550100000', 'completed', "
            f"'ended', 3, 0, 0, '{T.format(0)}')"
        )
        rows.append(
            "INSERT INTO ring_attempts (id, call_id, step, engineer_name, phone, "
            "ring_timeout_seconds, status, created_at, ringing_at) VALUES "
            f"({n}, {n}, 0, 'Ana Lima', '+15005550111', 20, 'no_answer', '{T.format(10)}', "
            f"'{T.format(11)}')"
        )
    events = [
        (1, "pin_ok", {"account": "Acme", "pin_kind": "privileged",
                       "elevated_until": "2026-03-03T09:00:00+00:00"}),
        (1, "accepted", {"engineer": "+15005550111", "engineer_name": "Ana Lima", "seconds": 4}),
        (2, "pin_ok", {"account": "Acme", "pin_kind": "standing", "elevated_until": None}),
        (2, "nobody_accepted", {"tried": ["+15005550111"]}),
        (2, "recording", {"url": "https://r.example/1", "seconds": 12}),
        (3, "callback_task", {"reason": "hung up while ringing"}),
        (3, "abandoned", {"step": "ringing"}),
    ]  # fmt: skip
    for index, (call, kind, detail) in enumerate(events, start=1):
        rows.append(
            "INSERT INTO call_events (id, ticket_id, call_id, at, kind, detail) VALUES "
            f"({index}, {call}, {call}, '{T.format(20)}', '{kind}', '{json.dumps(detail)}')"
        )
    for row in rows:
        conn.execute(text(row))  # type: ignore[attr-defined]


def test_existing_calls_get_their_outcome_engineer_ring_times_and_grant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as conn:
        _seed(conn)
    upgrade(url, "0014")
    with engine.connect() as conn:
        calls = {
            row.id: row
            for row in conn.execute(
                text(
                    "SELECT id, outcome, answered_by, pin_kind, elevated_access_until, "
                    "product_id, first_ring_at, connected_at FROM calls"
                )
            )
        }
        tickets = dict(conn.execute(text("SELECT id, outcome FROM tickets")).all())
        # Rebuilding `calls` must not cascade into the rows that hang off it.
        kept_events = conn.execute(text("SELECT COUNT(*) FROM call_events")).scalar()
        kept_attempts = conn.execute(text("SELECT COUNT(*) FROM ring_attempts")).scalar()
    engine.dispose()
    assert (kept_events, kept_attempts) == (7, 3)
    assert {n: c.outcome for n, c in calls.items()} == {
        1: "connected",
        2: "missed",
        3: "abandoned_ringing",
    }
    assert tickets == {1: "connected", 2: "missed", 3: "abandoned_ringing"}
    assert calls[1].answered_by == "Ana Lima" and calls[2].answered_by is None
    assert (calls[1].pin_kind, calls[2].pin_kind) == ("privileged", "standing")
    assert str(calls[1].elevated_access_until).startswith("2026-03-03 09:00:00")
    assert calls[2].elevated_access_until is None
    assert all(c.product_id == 1 for c in calls.values())
    assert str(calls[1].first_ring_at).startswith("2026-03-02 09:00:11")
    assert str(calls[1].connected_at).startswith("2026-03-02 09:00:20")
    assert calls[2].connected_at is None
