"""Random walks through the call flow, as an attacker holding the auth token would take them.

A Hypothesis state machine fires signed webhooks at a few calls in any order: the steps a
caller takes, steps skipped or taken twice, replays with and without Twilio's idempotency
header, forged engineer legs and odd field values. After every step it checks what must
always hold: nobody is rung or dialled for a call without an accepted PIN and entitlement, a
replay adds no ring attempt, outbox row or timeline event, and every answer is valid TwiML
(or a 204/403), never a 5xx.

`HYPOTHESIS_PROFILE=long` (make fuzz) runs many more and longer walks.
"""

from __future__ import annotations

import os
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Call, CallEvent, CallState, Notification, RingAttempt
from tests.factories import SignedTwilio, make_customer

settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    database=None,
    # The same walks on every CI run: a failure there is a regression, not a new draw.
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    max_examples=600,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ONCALL = "+15005550101"
EMERGENCY = "+15005550911"
CALLER_PATHS = ["/ivr/voice", "/ivr/pin", "/ivr/product", "/ivr/severity", "/ivr/recorded"]
HOLD_PATHS = ["/ivr/hold", "/ivr/queue-done", "/ivr/no-engineer"]
CALLBACK_PATHS = ["/ivr/status", "/ivr/transcription", "/ivr/recording-status", "/ivr/fallback"]
LEG_PATHS = ["/ivr/engineer", "/ivr/engineer-answer", "/ivr/engineer-status"]
ODD = ["¹²³", "٣", "9" * 10_000, "-1", "1.5", " ", "\x00", "%", "*#", "99999999999", "1e9"]
STATUSES = ["completed", "in-progress", "ringing", "busy", "no-answer", "canceled", "bogus"]
QUEUE_RESULTS = ["bridged", "hangup", "leave", "queue-full", "error", "redirected", "bogus"]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ONCALL_NUMBER=ONCALL, EMERGENCY_NUMBER=EMERGENCY)
    return app_config


@dataclass
class Sent:
    """A request as it went out, to be replayed byte for byte (its signature too)."""

    path: str
    params: dict[str, str]
    token: str
    # Whether the original moved the call (a new turn, state or row): its replays must not.
    acted: bool


@dataclass
class Line:
    """One phone call the machine drives."""

    twilio: SignedTwilio
    sent: list[Sent] = field(default_factory=list)


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (RingAttempt, Notification, CallEvent)
    )


def fingerprint(session: Session, call_sid: str) -> tuple[Any, ...]:
    session.expire_all()
    call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
    where = (call.state, call.turn, call.ended_at) if call else None
    return (where, *counts(session))


def check_answer(response: Any) -> ET.Element | None:
    """Every answer is TwiML served as text/xml, or an empty 204, or a 403; never a 5xx."""
    assert response.status_code < 500, response.data[:500]
    if response.status_code in (204, 403):
        return None
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root


def reaches_a_person(root: ET.Element) -> bool:
    """A caller's answer that dials someone or puts the caller on hold for engineers."""
    return root.find("Dial") is not None or root.find("Enqueue") is not None


def make_machine(app: Flask, client: FlaskClient, session: Session) -> type[RuleBasedStateMachine]:
    good = make_customer(app, session, name="Acme Corp")
    several = make_customer(app, session, name="Initech", products=("db", "cloud"))
    expired = make_customer(app, session, name="Globex", entitled=False)
    keys = st.sampled_from(
        [good.keys, several.keys, expired.keys, "00000000", "1", "2", "3", "", "#", *ODD]
    ) | st.text(max_size=12)

    class CallFlow(RuleBasedStateMachine):
        lines = Bundle("lines")

        @initialize()
        def fresh_sessions(self) -> None:
            self.rng = random.Random(0)

        @rule(target=lines, caller=st.integers(0, 9_999), greet=st.booleans())
        def stranger_call(self, caller: int, greet: bool) -> Line:
            """A call from anyone: greeted, or only ever seen by a forged later step."""
            return self.new_call(caller, greet)

        def new_call(self, caller: int, greet: bool) -> Line:
            line = Line(SignedTwilio(client))
            line.twilio.caller = f"+1415555{caller:04d}"
            if greet:
                self._send(line, "/ivr/voice", {})
            return line

        @rule(line=lines, path=st.sampled_from(CALLER_PATHS), digits=keys)
        def caller_step(self, line: Line, path: str, digits: str) -> None:
            """A step at the URL the app named last (what a real caller's Twilio does)."""
            target = line.twilio.named.get(path, path)
            self._send(line, target, {"Digits": digits})

        @rule(
            target=lines,
            caller=st.integers(0, 9_999),
            wrong_first=st.booleans(),
            choice=st.sampled_from(["1", "1", "2", "3", ""]),
        )
        def customer_call(self, caller: int, wrong_first: bool, choice: str) -> Line:
            """A real customer's call: a PIN (perhaps after a wrong one), then a severity key."""
            line = self.new_call(caller, greet=True)
            if wrong_first:
                self._send(line, line.twilio.named["/ivr/pin"], {"Digits": "00000000"})
            self._send(line, line.twilio.named["/ivr/pin"], {"Digits": good.keys})
            if "/ivr/severity" in line.twilio.named:
                self._send(line, line.twilio.named["/ivr/severity"], {"Digits": choice})
            return line

        @rule(line=lines, who=st.sampled_from(["good", "several", "expired", "wrong"]))
        def enter_pin(self, line: Line, who: str) -> None:
            """A caller typing a real customer's PIN (or a wrong one) where they are asked."""
            pins = {"good": good.keys, "several": several.keys, "expired": expired.keys}
            target = line.twilio.named.get("/ivr/pin", "/ivr/pin")
            self._send(line, target, {"Digits": pins.get(who, "00000000")})

        @rule(
            line=lines,
            path=st.sampled_from(["/ivr/product", "/ivr/severity"]),
            key=st.sampled_from(["1", "2", "3", ""]),
        )
        def choose(self, line: Line, path: str, key: str) -> None:
            """A menu choice where the app asked for one."""
            self._send(line, line.twilio.named.get(path, path), {"Digits": key})

        @rule(line=lines, path=st.sampled_from(["/ivr/severity", "/ivr/no-engineer"]))
        def skip_to_engineers(self, line: Line, path: str) -> None:
            """The attack that was seen: 'service is down' (or 'nobody came') from anywhere."""
            self.jump(line, path, "1")

        @rule(
            line=lines,
            path=st.sampled_from(CALLER_PATHS + HOLD_PATHS),
            digits=st.sampled_from(["1", "2"]) | keys,
        )
        def jump(self, line: Line, path: str, digits: str) -> None:
            """Any step at the call's current turn: turns are no secret, states must hold."""
            session.expire_all()
            call = session.scalars(
                select(Call).where(Call.call_sid == line.twilio.call_sid)
            ).one_or_none()
            turn = call.turn if call else 0
            self._send(
                line, f"{path}?turn={turn}&call={call.id if call else 1}", {"Digits": digits}
            )

        @rule(
            line=lines,
            path=st.sampled_from(CALLER_PATHS + HOLD_PATHS),
            turn=st.none() | st.integers(-1, 12).map(str) | st.sampled_from(ODD),
            digits=keys,
        )
        def skipped_step(self, line: Line, path: str, turn: str | None, digits: str) -> None:
            """A step the call may not have reached (or has left), at a guessed turn."""
            query = "" if turn is None else f"?turn={turn}&call={self.rng.randint(0, 5)}"
            self._send(line, path + query.replace("%", "%25"), {"Digits": digits})

        @rule(
            line=lines,
            waited=st.sampled_from(["0", "15", "45", *ODD]),
            result=st.sampled_from(QUEUE_RESULTS + ODD),
        )
        def on_hold(self, line: Line, waited: str, result: str) -> None:
            self._send(line, line.twilio.named.get("/ivr/hold", "/ivr/hold"), {"QueueTime": waited})
            self._send(
                line,
                line.twilio.named.get("/ivr/queue-done", "/ivr/queue-done"),
                {"QueueResult": result},
            )

        @rule(
            line=lines,
            path=st.sampled_from(CALLBACK_PATHS),
            status=st.sampled_from(STATUSES + ODD),
            seconds=st.sampled_from(["0", "7", "120", *ODD]),
            url=st.sampled_from(["https://api.twilio.com/rec/RE1", "http://evil.test/x", *ODD]),
        )
        def callback(self, line: Line, path: str, status: str, seconds: str, url: str) -> None:
            params = {
                "CallStatus": status,
                "CallDuration": seconds,
                "RecordingUrl": url,
                "RecordingDuration": seconds,
                "RecordingStatus": status,
                "TranscriptionStatus": status,
                "TranscriptionText": "help",
            }
            self._send(line, path, params)

        @rule(
            line=lines,
            path=st.sampled_from(LEG_PATHS),
            attempt=st.integers(-1, 12).map(str) | st.sampled_from(ODD),
            own_sid=st.booleans(),
            digits=st.sampled_from(["1", "2", "", *ODD]),
            status=st.sampled_from(STATUSES),
        )
        def engineer_leg(
            self, line: Line, path: str, attempt: str, own_sid: bool, digits: str, status: str
        ) -> None:
            """An engineer leg, real or forged: its own CallSid or the caller's."""
            leg = line.twilio if own_sid else SignedTwilio(client)
            query = f"?attempt={attempt}".replace("%", "%25")
            response = leg.post(path + query, exact=True, Digits=digits, CallStatus=status)
            root = check_answer(response)
            if root is not None and root.find("Dial") is not None:
                # Only a real, ringing, entitled call can be handed to an engineer.
                self._assert_entitled(line.twilio.call_sid)

        @rule(line=lines, index=st.integers(0, 200), keep_token=st.booleans())
        def replay(self, line: Line, index: int, keep_token: bool) -> None:
            """Send an earlier request again, with its idempotency token or without one."""
            if line.sent:
                self._replay(line, line.sent[index % len(line.sent)], keep_token)

        def _replay(self, line: Line, original: Sent, keep_token: bool) -> None:
            before = counts(session)
            token = original.token if keep_token else None
            response = line.twilio._post(original.path, token=token, **original.params)
            self._check_caller_answer(line, response)
            if original.acted:
                assert counts(session) == before, f"replay of {original.path} added rows"

        def _send(self, line: Line, path: str, params: dict[str, str]) -> None:
            before = fingerprint(session, line.twilio.call_sid)
            token = f"tok-{self.rng.getrandbits(64):x}"
            response = line.twilio._post(path, token=token, **params)
            line.twilio.remember(response)
            self._check_caller_answer(line, response)
            acted = fingerprint(session, line.twilio.call_sid) != before
            line.sent.append(Sent(path, params, token, acted))
            # Every request is replayed at once (as a retry would be), with and without the header.
            self._replay(line, line.sent[-1], keep_token=True)
            self._replay(line, line.sent[-1], keep_token=False)

        def _check_caller_answer(self, line: Line, response: Any) -> None:
            root = check_answer(response)
            if root is not None and reaches_a_person(root):
                self._assert_entitled(line.twilio.call_sid)

        def _assert_entitled(self, call_sid: str) -> None:
            session.expire_all()
            call = session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
            assert call is not None, "a person was reached for a call never opened"
            assert call.pin_accepted_at is not None and call.entitled_at is not None

        @invariant()
        def nobody_rung_without_pin_and_entitlement(self) -> None:
            session.expire_all()
            rung = session.scalars(
                select(Call).where(Call.id.in_(select(RingAttempt.call_id)))
            ).all()
            for call in rung:
                assert call.pin_accepted_at is not None and call.entitled_at is not None
            holding = session.scalars(
                select(Call).where(Call.state.in_([CallState.RINGING, CallState.CONNECTED]))
            ).all()
            for call in holding:
                assert call.entitled_at is not None

    return CallFlow


@pytest.mark.slow
def test_random_walks_through_the_call_flow_keep_every_invariant(
    app: Flask, client: FlaskClient, session: Session, inline_dialer: None
) -> None:
    run_state_machine_as_test(make_machine(app, client, session), settings=PROFILE)
    # The walks did reach the states that matter, or the invariants proved little.
    rung, _outbox, _events = counts(session)
    assert rung > 0
    kinds = set(session.scalars(select(CallEvent.kind).distinct()))
    assert {"pin_ok", "severity", "ringing_started"} <= kinds
