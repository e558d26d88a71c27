"""When a part fails mid-call: the fallback resumes, error answers fit where they are played,
degraded mode without the database, and the journal that loses no callback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from hotline.maintenance import POISON_ROUNDS, journal_of, replay_journal
from kernel import journal
from kernel.db import make_engine
from models import Call, CallEvent, CallState, RingAttempt, Ticket, TicketOutcome
from models.ringing import AttemptStatus
from simulator import twiml as sim_twiml
from tests.conftest import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN
from tests.ivr.conftest import Customer, SignedTwilio

ONCALL = "+15005550101"
EMERGENCY = "+15005550911"
LAST_KNOWN = ("+15005550201", "+15005550202")
BASE = "https://hotline.example.test"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ONCALL_NUMBER=ONCALL, EMERGENCY_NUMBER=EMERGENCY)
    return app_config


def twiml(response: Any, context: str = "call") -> ET.Element:
    """The answer as XML, after checking Twilio would accept it where it is played."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/xml"
    sim_twiml.parse(response.data.decode(), "text/xml", context)
    return ET.fromstring(response.data)


@contextmanager
def database_down(app: Flask, tmp_path: Path) -> Iterator[None]:
    """Every new session of the app fails to connect, as with PostgreSQL unreachable."""
    working = app.extensions["sessionmaker"]
    broken = make_engine(f"sqlite:///{tmp_path}/unreachable/dir/kernel.db")
    app.extensions["sessionmaker"] = sessionmaker(broken)
    try:
        yield
    finally:
        app.extensions["sessionmaker"] = working
        broken.dispose()


def attempts(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RingAttempt)) or 0


def call_of(session: Session, twilio: SignedTwilio) -> Call:
    session.expire_all()
    return session.scalars(select(Call).where(Call.call_sid == twilio.call_sid)).one()


def severity_url(twilio: SignedTwilio, customer: Customer) -> str:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    return BASE + twilio.named["/ivr/severity"]


# -- The fallback resumes ------------------------------------------------------------------


@pytest.mark.usefixtures("inline_dialer")
def test_fallback_for_a_severity_key_the_primary_never_ran_rings_once(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    error_url = severity_url(twilio, customer)
    # The web worker died before it committed: Twilio asks the fallback with the same form.
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorUrl=error_url, Digits="1"))
    assert root.find("Enqueue") is not None
    assert call_of(session, twilio).state is CallState.RINGING
    rung = attempts(session)
    assert rung >= 1
    # A second fallback (or the primary's late retry) holds the caller and rings nobody again.
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorUrl=error_url, Digits="1"))
    assert root.find("Enqueue") is not None
    assert attempts(session) == rung


@pytest.mark.usefixtures("inline_dialer")
def test_fallback_after_the_primary_committed_holds_and_rings_nobody_twice(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    error_url = severity_url(twilio, customer)
    twilio.post("/ivr/severity", Digits="1")  # committed, but its answer never reached Twilio
    rung = attempts(session)
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorUrl=error_url, Digits="1"))
    assert root.find("Enqueue") is not None and attempts(session) == rung


def test_fallback_for_a_caller_in_the_menus_asks_the_current_question_again(
    twilio: SignedTwilio, customer: Customer
) -> None:
    twilio.post("/ivr/voice")
    error_url = BASE + twilio.named["/ivr/pin"]
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorUrl=error_url, Digits=""))
    action = root.find("Gather").get("action") or ""  # type: ignore[union-attr]
    assert action.startswith(BASE + "/ivr/pin?turn=")
    assert root.find("Record") is None and root.find("Dial") is None


def test_fallback_for_the_voice_url_opens_the_ticket(
    twilio: SignedTwilio, session: Session
) -> None:
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorUrl=BASE + "/ivr/voice"))
    assert "Enter your PIN" in (root.findtext("Gather/Say") or "")
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


# -- Every error answer fits where it is played --------------------------------------------


def test_the_hold_loop_never_plays_a_failure_while_the_database_is_down(
    app: Flask, twilio: SignedTwilio, customer: Customer, tmp_path: Path
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    call_id = call_of_id(app, twilio)
    with database_down(app, tmp_path):
        hold = f"/ivr/hold?call={call_id}"
        root = twiml(twilio.post(hold, exact=True, QueueTime="20"), "enqueue_wait")
        assert [el.tag for el in root] == ["Pause"]
        # Held a minute with the database still away (breaker open): out to be put through.
        app.extensions["db_breaker"].failed()
        root = twiml(twilio.post(hold, exact=True, QueueTime="75"), "enqueue_wait")
        assert [el.tag for el in root] == ["Leave"]
        app.extensions["last_known"].remember(list(LAST_KNOWN))
        done = f"/ivr/queue-done?call={call_id}"
        root = twiml(twilio.post(done, exact=True, QueueResult="leave"))
        assert root.findtext("Dial/Number") == LAST_KNOWN[0]
    app.extensions["db_breaker"].succeeded()


def call_of_id(app: Flask, twilio: SignedTwilio) -> int:
    with app.extensions["sessionmaker"]() as session:
        return session.scalars(select(Call.id).where(Call.call_sid == twilio.call_sid)).one()


def test_an_engineer_whose_leg_fails_is_kept_on_the_line_then_given_the_hotline(
    app: Flask, twilio: SignedTwilio, tmp_path: Path
) -> None:
    with database_down(app, tmp_path):
        root = twiml(twilio.post("/ivr/engineer?attempt=7", exact=True), "whisper")
        assert "stay on the line" in (root.findtext("Say") or "")
        assert root.find("Hangup") is None
        assert (root.findtext("Redirect") or "").endswith("/ivr/engineer?attempt=7&retry=1")
        root = twiml(twilio.post("/ivr/engineer?attempt=7&retry=12", exact=True), "whisper")
        assert "call the hotline" in (root.findtext("Say") or "")


# -- Degraded mode -------------------------------------------------------------------------


def test_degraded_severity_key_rings_last_known_engineers_then_the_emergency_number(
    app: Flask, twilio: SignedTwilio, customer: Customer, tmp_path: Path
) -> None:
    severity_url(twilio, customer)
    app.extensions["last_known"].remember(list(LAST_KNOWN))
    with database_down(app, tmp_path):
        root = twiml(twilio.post("/ivr/severity", Digits="1"))
        assert "no ticket number yet" in (root.findtext("Say") or "")
        number = root.find("Dial/Number")
        assert number is not None and number.text == LAST_KNOWN[0]
        whisper = twiml(twilio.post((number.get("url") or "")[len(BASE) :], exact=True), "whisper")
        assert "PIN was not checked" in (whisper.findtext("Gather/Say") or "")
        action = (root.find("Dial").get("action") or "")[len(BASE) :]  # type: ignore[union-attr]
        root = twiml(twilio.post(action, exact=True, DialCallStatus="no-answer"))
        assert root.findtext("Dial/Number") == LAST_KNOWN[1]
        action = (root.find("Dial").get("action") or "")[len(BASE) :]  # type: ignore[union-attr]
        root = twiml(twilio.post(action, exact=True, DialCallStatus="busy"))
        assert root.findtext("Dial") == EMERGENCY


def test_an_unknown_caller_in_degraded_mode_chooses_and_a_message_becomes_a_ticket(
    app: Flask, twilio: SignedTwilio, session: Session, tmp_path: Path
) -> None:
    with database_down(app, tmp_path):
        root = twiml(twilio.post("/ivr/voice"))
        assert "cannot check your support PIN" in (root.findtext("Gather/Say") or "")
        root = twiml(twilio.post("/ivr/degraded/choice", exact=True, Digits="2"))
        assert root.find("Record") is not None
        url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
        root = twiml(
            twilio.post(
                "/ivr/fallback?recorded=1", exact=True, RecordingUrl=url, RecordingDuration="9"
            )
        )
        assert "message has been recorded" in (root.findtext("Say") or "")
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert replay_journal(app) >= 2
    session.expire_all()
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.outcome is TicketOutcome.MESSAGE
    assert [e.detail.get("seconds") for e in ticket.events if e.kind == "recording"] == [9]


# -- Nothing Twilio tells us is lost -------------------------------------------------------


def test_status_callbacks_during_an_outage_are_journaled_and_replayed_once(
    app: Flask, twilio: SignedTwilio, customer: Customer, session: Session, tmp_path: Path
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    with database_down(app, tmp_path):
        response = twilio.post("/ivr/status", CallStatus="completed", CallDuration="31")
        assert response.status_code == 204
        assert twilio.post("/ivr/status", CallStatus="completed").status_code == 204
    assert call_of(session, twilio).ended_at is None
    assert journal_of(app).pending() == 2
    assert replay_journal(app) == 2
    assert replay_journal(app) == 0 and journal_of(app).pending() == 0
    call = call_of(session, twilio)
    assert call.state is CallState.ENDED and call.duration_seconds == 31
    kinds = session.scalars(select(CallEvent.kind).where(CallEvent.call_id == call.id)).all()
    assert kinds.count("call_ended") == 1


def test_replay_waits_while_the_database_is_still_down(
    app: Flask, twilio: SignedTwilio, customer: Customer, session: Session, tmp_path: Path
) -> None:
    twilio.post("/ivr/voice")
    with database_down(app, tmp_path):
        twilio.post("/ivr/status", CallStatus="completed")
        assert replay_journal(app) == 0
        assert journal_of(app).pending() == 1
    assert replay_journal(app) == 1
    assert call_of(session, twilio).state is CallState.ENDED


def test_a_status_callback_that_cannot_even_be_journaled_answers_503(
    app: Flask, twilio: SignedTwilio, tmp_path: Path
) -> None:
    twilio.post("/ivr/voice")
    # The journal's place is taken by a directory: the disk refuses the write, as when full.
    journal_of(app).path.mkdir(parents=True)
    with database_down(app, tmp_path):
        assert twilio.post("/ivr/status", CallStatus="completed").status_code == 503


def test_a_forged_replay_stamp_does_not_backdate_events(
    twilio: SignedTwilio, session: Session
) -> None:
    form = {"AccountSid": TEST_ACCOUNT_SID, "CallSid": twilio.call_sid, "From": twilio.caller}
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(BASE + "/ivr/voice", form)
    forged = journal.replay_stamp(datetime(2001, 1, 1, tzinfo=UTC), signature, "not-our-key")
    headers = {"X-Twilio-Signature": signature, journal.REPLAY_HEADER: forged}
    assert twilio.client.post("/ivr/voice", data=form, headers=headers).status_code == 200
    (event,) = session.scalars(select(CallEvent)).all()
    assert event.at.year > 2001


def test_a_degraded_connection_reaches_the_ticket_once_the_database_is_back(
    app: Flask, twilio: SignedTwilio, customer: Customer, session: Session, tmp_path: Path
) -> None:
    severity_url(twilio, customer)
    app.extensions["last_known"].remember(list(LAST_KNOWN))
    with database_down(app, tmp_path):
        root = twiml(twilio.post("/ivr/severity", Digits="1"))
        action = (root.find("Dial").get("action") or "")[len(BASE) :]  # type: ignore[union-attr]
        leg = "CA" + "1" * 32
        done = twiml(twilio.post(action, exact=True, DialCallStatus="completed", DialCallSid=leg))
        assert "Goodbye" in (done.findtext("Say") or "")
        twilio.post("/ivr/status", CallStatus="completed", CallDuration="120")
    assert replay_journal(app) == 2
    call = call_of(session, twilio)
    assert call.ticket.outcome is TicketOutcome.CONNECTED and call.state is CallState.ENDED
    dials = [e.detail for e in call.ticket.events if e.kind == "degraded_dial"]
    assert dials == [{"attempt": 1, "status": "completed", "leg": leg}]


def test_an_entry_that_fails_with_the_database_up_is_skipped_after_a_few_rounds(
    app: Flask,
    client: Any,
    customer: Customer,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = SignedTwilio(client), SignedTwilio(client)
    first.post("/ivr/voice")
    second.post("/ivr/voice")
    with database_down(app, tmp_path):
        first.post("/ivr/transcription", TranscriptionText="x", TranscriptionStatus="completed")
        second.post("/ivr/status", CallStatus="completed")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr("ivr.flow.has_event", broken)
    refusals: Counter[str] = Counter()
    for _ in range(POISON_ROUNDS - 1):
        assert replay_journal(app, refusals) == 0  # held back: maybe the database is flapping
    assert replay_journal(app, refusals) == 2  # then skipped, and the next entry applied
    assert call_of(session, second).state is CallState.ENDED


@pytest.mark.usefixtures("inline_dialer")
def test_an_engineer_whose_accept_lost_its_answer_is_connected_by_the_fallback(
    client: Any, twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    twilio.post("/ivr/severity", Digits="1")
    session.expire_all()
    attempt = session.scalars(select(RingAttempt).order_by(RingAttempt.id)).first()
    assert attempt is not None
    # As if the leg were live (the inline dialer's REST calls go nowhere) and had answered.
    leg = SignedTwilio(client)
    call = call_of(session, twilio)
    attempt.leg_sid, attempt.status = leg.call_sid, AttemptStatus.ANSWERED
    call.state, call.ring_step, call.accepted_attempt_id = CallState.RINGING, 0, None
    session.commit()
    answer = f"/ivr/engineer-answer?attempt={attempt.id}"
    # Committed; say its answer never reached Twilio.
    assert twiml(leg.post(answer, exact=True, Digits="1")).findtext("Dial/Queue")
    events = session.scalar(select(func.count()).select_from(CallEvent))
    root = twiml(
        leg.post(
            f"/ivr/engineer-fallback?attempt={attempt.id}",
            exact=True,
            ErrorUrl=BASE + answer,
            Digits="1",
        )
    )
    assert root.findtext("Dial/Queue"), ET.tostring(root)
    assert session.scalar(select(func.count()).select_from(CallEvent)) == events
    # Another leg's fallback for the same attempt still reaches nobody.
    other = SignedTwilio(client)
    root = twiml(
        other.post(
            f"/ivr/engineer-fallback?attempt={attempt.id}",
            exact=True,
            ErrorUrl=BASE + answer,
            Digits="1",
        )
    )
    assert root.find("Dial") is None
