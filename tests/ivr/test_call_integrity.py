"""The call flow can't be walked around: skipped steps, replays, forged legs and odd fields."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from models import Call, CallEvent, CallState, Notification, RingAttempt, Ticket
from tests.conftest import PUBLIC_BASE_URL, TEST_AUTH_TOKEN
from tests.factories import Customer, SignedTwilio, make_customer

ONCALL = "+15005550101"
EMERGENCY = "+15005550911"
WRONG = "00000000"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ONCALL_NUMBER=ONCALL, EMERGENCY_NUMBER=EMERGENCY)
    return app_config


def twiml(response: Any) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def side_effects(session: Session) -> tuple[int, int, int, int]:
    """Rows that a step may add: ring attempts, outbox, timeline events, tickets."""
    return (
        count(session, RingAttempt),
        count(session, Notification),
        count(session, CallEvent),
        count(session, Ticket),
    )


def call_of(session: Session, twilio: SignedTwilio) -> Call:
    session.expire_all()
    return session.scalars(select(Call).where(Call.call_sid == twilio.call_sid)).one()


def dials_anyone(root: ET.Element) -> bool:
    return root.find("Dial") is not None or root.find("Enqueue") is not None


# -- What was seen, item 1: step skipping ------------------------------------------------


def test_severity_on_a_fresh_call_sid_rings_nobody_and_opens_nothing(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    for path in ("/ivr/severity", "/ivr/severity?turn=0", "/ivr/severity?turn=1"):
        root = twiml(twilio.post(path, exact=True, Digits="1"))
        assert not dials_anyone(root)
        assert root.findtext("Redirect") == PUBLIC_BASE_URL + "/ivr/voice"
    assert side_effects(session) == (0, 0, 0, 0)


@pytest.mark.parametrize("turn", ["0", "1", "2"])
def test_severity_after_only_the_greeting_rings_nobody_and_asks_for_the_pin(
    twilio: SignedTwilio, customer: Customer, session: Session, turn: str
) -> None:
    twilio.post("/ivr/voice")
    before = side_effects(session)
    root = twiml(twilio.post(f"/ivr/severity?turn={turn}", exact=True, Digits="1"))
    assert not dials_anyone(root)
    gather = root.find("Gather")
    assert gather is not None and "/ivr/pin?" in (gather.get("action") or "")
    assert side_effects(session) == before
    assert call_of(session, twilio).state is CallState.PIN


def test_severity_after_all_pin_tries_rings_nobody(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    for _ in range(3):
        root = twiml(twilio.post("/ivr/pin", Digits=WRONG))
    # The third wrong PIN: the way through without a PIN (a code texted to the registered
    # contact this caller ID matches), never the severity question.
    assert call_of(session, twilio).state is CallState.NO_PIN_CODE
    assert root.find("Gather") is not None
    before = side_effects(session)
    turn = call_of(session, twilio).turn
    for t in range(turn + 2):
        answer = twiml(twilio.post(f"/ivr/severity?turn={t}", exact=True, Digits="1"))
        assert not dials_anyone(answer)
    assert side_effects(session) == before
    assert call_of(session, twilio).state is CallState.NO_PIN_CODE


def test_severity_after_a_not_entitled_refusal_rings_nobody(
    app: Flask, twilio: SignedTwilio, session: Session
) -> None:
    expired = make_customer(app, session, name="Globex", entitled=False)
    twilio.post("/ivr/voice")
    twiml(twilio.post("/ivr/pin", Digits=expired.keys))
    call = call_of(session, twilio)
    assert call.pin_accepted_at is not None and call.entitled_at is None
    before = side_effects(session)
    for t in range(call.turn + 2):
        answer = twiml(twilio.post(f"/ivr/severity?turn={t}", exact=True, Digits="1"))
        assert not dials_anyone(answer)
    assert side_effects(session) == before


def test_no_engineer_on_a_fresh_call_or_a_call_in_the_menus_alerts_nobody(
    twilio: SignedTwilio, customer: Customer, session: Session, client: Any
) -> None:
    stranger = SignedTwilio(client)
    assert not dials_anyone(twiml(stranger.post("/ivr/no-engineer?call=1", exact=True)))
    assert side_effects(session) == (0, 0, 0, 0)
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    call = call_of(session, twilio)
    before_ring = side_effects(session)
    assert twiml(twilio.post("/ivr/no-engineer", exact=True)).find("Gather") is not None
    assert side_effects(session) == before_ring
    assert call_of(session, twilio).state is call.state


def test_no_engineer_before_the_plan_is_exhausted_keeps_the_caller_holding(
    twilio: SignedTwilio, customer: Customer, session: Session, held_dialer: object
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    twiml(twilio.post("/ivr/severity", Digits="1"))
    call = call_of(session, twilio)
    alerts = count(session, Notification)
    root = twiml(twilio.post(f"/ivr/no-engineer?call={call.id}", exact=True))
    assert root.find("Enqueue") is not None
    assert count(session, Notification) == alerts


def test_no_engineer_after_every_engineer_was_tried_alerts_once(
    twilio: SignedTwilio, customer: Customer, session: Session, inline_dialer: None
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    twiml(twilio.post("/ivr/severity", Digits="1"))
    call = call_of(session, twilio)
    # Nothing listens at the test's Twilio URL: both rounds fail at once and the plan is spent.
    assert [a.status.value for a in session.scalars(select(RingAttempt))] == ["failed"] * 2
    first = twiml(twilio.post(f"/ivr/no-engineer?call={call.id}", exact=True))
    assert first.find("Record") is not None
    alerts = count(session, Notification)
    assert alerts > 0
    for token in ("again", None):
        twilio.post(f"/ivr/no-engineer?call={call.id}", exact=True, token=token)
    assert count(session, Notification) == alerts


# -- Engineer legs: a forged attempt id can't take a call ----------------------------------


def test_a_forged_leg_cannot_accept_a_call(
    app: Flask, client: Any, customer: Customer, session: Session, inline_dialer: None
) -> None:
    caller = SignedTwilio(client)
    caller.post("/ivr/voice")
    caller.post("/ivr/pin", Digits=customer.keys)
    twiml(caller.post("/ivr/severity", Digits="1"))
    session.expire_all()
    attempt = session.scalars(select(RingAttempt).order_by(RingAttempt.id)).first()
    assert attempt is not None
    # Give the attempt a known leg and put the call back to ringing, as if the leg were live.
    call = call_of(session, caller)
    real_leg = SignedTwilio(client)
    attempt.leg_sid = real_leg.call_sid
    attempt.status = attempt.status.__class__.ANSWERED
    call.state, call.ring_step, call.accepted_attempt_id = CallState.RINGING, 0, None
    session.commit()
    forger = SignedTwilio(client)
    for path in (
        f"/ivr/engineer?attempt={attempt.id}",
        f"/ivr/engineer-answer?attempt={attempt.id}",
    ):
        root = twiml(forger.post(path, exact=True, Digits="1"))
        assert root.find("Dial") is None
    assert call_of(session, caller).accepted_attempt_id is None
    # The real leg, pressing 1, does get the caller.
    root = twiml(
        real_leg.post(f"/ivr/engineer-answer?attempt={attempt.id}", exact=True, Digits="1")
    )
    assert root.find("Dial") is not None, ET.tostring(root)
    assert call_of(session, caller).state is CallState.CONNECTED


def test_engineer_leg_of_a_call_not_ringing_reaches_nobody(
    client: Any, customer: Customer, session: Session
) -> None:
    caller = SignedTwilio(client)
    caller.post("/ivr/voice")
    caller.post("/ivr/pin", Digits=WRONG)
    leg = SignedTwilio(client)
    for attempt_id in ("1", "999", "-1", "%C2%B9", "9" * 40):
        root = twiml(leg.post(f"/ivr/engineer-answer?attempt={attempt_id}", exact=True, Digits="1"))
        assert root.find("Dial") is None
    assert count(session, RingAttempt) == 0


# -- What was seen, item 2: replays ------------------------------------------------------


@pytest.mark.parametrize("with_token", [True, False], ids=["same-token", "no-token"])
def test_replayed_severity_request_rings_once_even_after_the_call_ended(
    twilio: SignedTwilio,
    customer: Customer,
    session: Session,
    inline_dialer: None,
    with_token: bool,
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)
    path = twilio.named["/ivr/severity"]
    first = twiml(twilio.post(path, exact=True, token="tok-1", Digits="1"))
    assert first.find("Enqueue") is not None
    effects = side_effects(session)
    token = "tok-1" if with_token else None
    for _ in range(3):
        twiml(twilio.post(path, exact=True, token=token, Digits="1"))
    assert side_effects(session) == effects
    twilio.post("/ivr/status", CallStatus="completed", CallDuration="30")
    effects = side_effects(session)
    for _ in range(2):
        answer = twiml(twilio.post(path, exact=True, token=token, Digits="1"))
        assert answer.find("Enqueue") is None and answer.find("Dial") is None
        twilio.post("/ivr/status", CallStatus="completed", CallDuration="30")
    assert side_effects(session) == effects


def test_replayed_wrong_pin_counts_once(
    twilio: SignedTwilio, customer: Customer, session: Session
) -> None:
    twilio.post("/ivr/voice")
    path = twilio.named["/ivr/pin"]
    twilio.post(path, exact=True, Digits=WRONG)
    effects = side_effects(session)
    for _ in range(3):
        root = twiml(twilio.post(path, exact=True, Digits=WRONG))
        assert root.find("Gather") is not None
    assert side_effects(session) == effects
    # The caller's own next try (at the URL the app named) still counts.
    twiml(twilio.post("/ivr/pin", Digits=customer.keys))
    assert call_of(session, twilio).state is CallState.SEVERITY


def post_raw(client: Any, path: str, body: str, signature: str) -> Any:
    return client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_a_call_sid_that_swallowed_the_call_status_is_refused(
    client: Any, twilio: SignedTwilio, session: Session
) -> None:
    form = {"AccountSid": "AC" + "0" * 32, "CallSid": twilio.call_sid, "CallStatus": "ringing"}
    url = PUBLIC_BASE_URL + "/ivr/voice"
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, form)
    genuine = post_raw(client, "/ivr/voice", urlencode(form), signature)
    assert genuine.status_code == 200
    # Same concatenated string, split differently: CallSid's value swallows CallStatus.
    split = {"AccountSid": form["AccountSid"], "CallSid": twilio.call_sid + "CallStatusringing"}
    assert RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, split) == signature
    assert post_raw(client, "/ivr/voice", urlencode(split), signature).status_code == 403
    assert count(session, Call) == 1


def test_duplicate_keys_and_undecodable_bodies_are_refused(
    client: Any, twilio: SignedTwilio, session: Session
) -> None:
    url = PUBLIC_BASE_URL + "/ivr/voice"
    form = {"AccountSid": "AC" + "0" * 32, "CallSid": twilio.call_sid}
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(url, form)
    doubled = urlencode(form) + "&CallSid=" + twilio.call_sid
    assert post_raw(client, "/ivr/voice", doubled, signature).status_code == 403
    assert post_raw(client, "/ivr/voice", urlencode(form) + "&x=%ff", signature).status_code == 403
    assert count(session, Call) == 0


def test_a_foreign_account_or_an_odd_call_sid_is_refused(
    twilio: SignedTwilio, session: Session
) -> None:
    assert twilio.post("/ivr/voice", AccountSid="AC" + "1" * 32).status_code == 403
    twilio.call_sid = "CA" + "G" * 32
    assert twilio.post("/ivr/voice").status_code == 403
    twilio.call_sid = "CA12\nforged log line"
    assert twilio.post("/ivr/voice").status_code == 403
    assert count(session, Call) == 0


# -- What was seen, item 6: odd fields -----------------------------------------------------

ODD_VALUES = ["¹²³", "٣", "9" * 10_000, "-1", "1.5", " ", "1e9", "\x00", "%", "*#", "99999999999"]


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_field_values_get_valid_twiml_at_every_step(
    twilio: SignedTwilio, customer: Customer, session: Session, value: str, inline_dialer: None
) -> None:
    twilio.post("/ivr/voice")
    twiml(twilio.post("/ivr/pin", Digits=value))
    twiml(twilio.post("/ivr/pin", Digits=customer.keys))
    twiml(twilio.post("/ivr/severity", Digits=value))
    root = twiml(twilio.post("/ivr/severity", Digits="1"))
    assert root.find("Enqueue") is not None
    twiml(twilio.post("/ivr/hold", QueueTime=value))
    twiml(twilio.post("/ivr/queue-done", QueueResult=value))
    call = call_of(session, twilio)
    twiml(twilio.post(f"/ivr/no-engineer?call={call.id}", exact=True))
    twiml(twilio.post("/ivr/recorded", RecordingUrl=value, RecordingDuration=value))
    assert twilio.post("/ivr/status", CallStatus=value, CallDuration=value).status_code == 204
    assert twilio.post("/ivr/status", CallStatus="completed", CallDuration=value).status_code == 204
    assert call_of(session, twilio).state is CallState.ENDED


def test_odd_product_choice_and_recording_duration_never_fall_back_to_a_person(
    app: Flask, twilio: SignedTwilio, session: Session
) -> None:
    both = make_customer(app, session, name="Initech", products=("db", "cloud"))
    twilio.post("/ivr/voice")
    twiml(twilio.post("/ivr/pin", Digits=both.keys))
    for value in ("¹", "9" * 10_000, "0", "#"):
        root = twiml(twilio.post("/ivr/product", Digits=value))
        assert root.find("Dial") is None


def test_a_failing_step_of_a_caller_without_a_pin_takes_a_message_not_a_dial(
    twilio: SignedTwilio, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    twilio.post("/ivr/voice")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr("ivr.flow.verify_pin", broken)
    root = twiml(twilio.post("/ivr/pin", Digits=customer.keys))
    assert root.find("Dial") is None and root.find("Record") is not None, ET.tostring(root)
    # Twilio's own fallback URL resumes: the caller in the menus hears the PIN prompt again.
    root = twiml(twilio.post("/ivr/fallback", exact=True, ErrorCode="11200"))
    assert root.find("Dial") is None
    assert (root.find("Gather").get("action") or "").split("?")[0].endswith("/ivr/pin")


def test_a_failing_step_of_an_entitled_caller_reaches_the_emergency_number(
    twilio: SignedTwilio, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    twilio.post("/ivr/voice")
    twilio.post("/ivr/pin", Digits=customer.keys)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr("ivr.flow.plan_for_product", broken)
    severity_url = twilio.named["/ivr/severity"]
    root = twiml(twilio.post("/ivr/severity", Digits="1"))
    assert root.findtext("Dial") == EMERGENCY
    # The fallback for that request runs the same step again (and meets the same fault).
    error_url = "https://hotline.test" + severity_url
    root = twiml(
        twilio.post("/ivr/fallback", exact=True, ErrorCode="11200", ErrorUrl=error_url, Digits="1")
    )
    assert root.findtext("Dial") == EMERGENCY


# -- What was seen, item 4 (the part that is the call flow's): locked out, still heard -----


def test_a_locked_out_caller_can_leave_a_message_and_the_ticket_says_so(
    app: Flask, client: Any, customer: Customer, session: Session
) -> None:
    for _ in range(2):
        guesser = SignedTwilio(client)
        guesser.post("/ivr/voice")
        for _ in range(3):
            guesser.post("/ivr/pin", Digits=WRONG)
    caller = SignedTwilio(client)
    caller.post("/ivr/voice")
    root = twiml(caller.post("/ivr/pin", Digits=customer.keys))
    assert root.find("Record") is not None, ET.tostring(root)
    assert root.find("Dial") is None and root.find("Enqueue") is None
    ticket = call_of(session, caller).ticket
    assert ticket.refusal_reason and ticket.refusal_reason.startswith("locked out")
    assert "locked_out" in [event.kind for event in ticket.events]


# -- Races ---------------------------------------------------------------------------------


def test_two_parallel_severity_requests_ring_exactly_once(
    app: Flask, customer: Customer, session: Session, inline_dialer: None
) -> None:
    caller = SignedTwilio(app.test_client())
    caller.post("/ivr/voice")
    caller.post("/ivr/pin", Digits=customer.keys)
    path = caller.named["/ivr/severity"]
    answers: list[Any] = []
    start = threading.Barrier(2)

    def press_1() -> None:
        twin = SignedTwilio(app.test_client(), caller.call_sid)
        start.wait()
        answers.append(twin.post(path, exact=True, Digits="1"))

    threads = [threading.Thread(target=press_1) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    roots = [twiml(answer) for answer in answers]
    assert all(root.find("Dial") is None for root in roots)
    session.expire_all()
    severity_events = session.scalars(select(CallEvent).where(CallEvent.kind == "severity")).all()
    assert len(severity_events) == 1
    ringing_started = session.scalars(
        select(CallEvent).where(CallEvent.kind == "ringing_started")
    ).all()
    assert len(ringing_started) == 1
    # One round was opened by the webhook (the dialer's failures open the rest, once each).
    first_round = session.scalars(select(RingAttempt).where(RingAttempt.step == 0)).all()
    assert len(first_round) == 1
