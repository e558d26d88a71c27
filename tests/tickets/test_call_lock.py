"""The call's row lock: a step that waited for another step's lock reads what that one wrote."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import Ticket
from tickets.calls import lock_and_read, new_call, save_new_call

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("read_before", [False, True], ids=["fresh", "ticket-read-before"])
def test_a_step_that_waited_for_the_call_lock_reads_the_ticket_as_committed(
    app: Flask, session: Session, read_before: bool
) -> None:
    make_session = app.extensions["sessionmaker"]
    call = new_call(session, "CA-lock", "+14155550100", "+14155550000", NOW)
    assert save_new_call(session, call, NOW)
    session.commit()
    ticket_id = call.ticket_id
    seen: dict[str, object] = {}
    waiting = threading.Event()

    def second_webhook() -> None:
        with make_session() as second:
            # Read before the lock (and before the first step commits), and kept.
            before = second.get(Ticket, ticket_id) if read_before else None
            waiting.set()
            locked = lock_and_read(second, "CA-lock")
            assert locked is not None
            seen["severity"] = locked.ticket.severity
            seen["subject"] = locked.ticket.subject
            assert before is None or before is locked.ticket
            second.rollback()

    with make_session() as first:
        locked = lock_and_read(first, "CA-lock")  # the first webhook takes the call's lock
        assert locked is not None
        thread = threading.Thread(target=second_webhook)
        thread.start()
        assert waiting.wait(10)
        time.sleep(0.5)  # the second webhook now waits for the lock
        locked.ticket.severity = 1
        locked.ticket.subject = "Severity 1 from Acme: service down"
        first.commit()
    thread.join(20)
    assert seen == {"severity": 1, "subject": "Severity 1 from Acme: service down"}
