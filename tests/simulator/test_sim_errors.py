"""What Twilio does with bad answers: fallback URL, or an application error and hang-up."""

from __future__ import annotations

from sim_toy_ivr import ALICE, HOTLINE, PIN, PUBLIC, SID, TOKEN, attach

from simulator import Caller, Simulator
from simulator.legs import APP_ERROR


def test_forged_signature_rejected_by_the_service_is_a_failed_call() -> None:
    with Simulator(PUBLIC, TOKEN, SID, hotline_number=HOTLINE, signature="forged", grace=0) as sim:
        attach(sim)
        call = sim.call(Caller(keys=[PIN]))
    assert call.failed
    assert call.webhooks[0].status == 403
    assert call.errors[0].code == 11200
    assert call.heard == [APP_ERROR]


def test_missing_signature_is_a_failed_call() -> None:
    with Simulator(PUBLIC, TOKEN, SID, signature="missing", fallback_path=None, grace=0) as sim:
        attach(sim)
        call = sim.call(Caller(keys=[PIN]))
    assert call.failed
    assert [w.status for w in call.webhooks][:1] == [403]


def test_malformed_twiml_goes_to_the_fallback_url(sim: Simulator) -> None:
    app = attach(sim, mode="malformed")
    call = sim.call(Caller())
    assert [e.code for e in call.errors] == [12100]
    assert app.extensions["toy"]["fallback"] == ("12100", PUBLIC + "/ivr/voice")
    assert call.heard[0] == "We are having trouble. Please leave a message."
    assert len(call.recordings) == 1


def test_unknown_attribute_without_fallback_is_an_application_error() -> None:
    with Simulator(PUBLIC, TOKEN, SID, fallback_path=None, grace=0) as sim:
        attach(sim, mode="unknown_attr")
        call = sim.call(Caller())
    assert call.errors[0].code == 12200
    assert "colour" in call.errors[0].message
    assert call.heard == [APP_ERROR]
    assert call.status == "completed"


def test_slow_webhook_times_out() -> None:
    with Simulator(PUBLIC, TOKEN, SID, fallback_path=None, webhook_timeout=0.3, grace=0) as sim:
        attach(sim, mode="slow")
        call = sim.call(Caller())
    assert call.errors[0].code == 11205
    assert call.heard == [APP_ERROR]


def test_json_content_type_is_rejected() -> None:
    with Simulator(PUBLIC, TOKEN, SID, fallback_path=None, grace=0) as sim:
        attach(sim, mode="html")
        call = sim.call(Caller())
    assert call.errors[0].code == 12300


def test_a_good_call_has_no_errors(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(Caller(keys=[PIN, "1"]))
    assert not call.failed
    assert call.connected_to == ALICE
    assert all(w.status in {200, 204} for w in call.webhooks)
