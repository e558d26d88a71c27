"""Scripted calls walk the toy IVR end to end."""

from __future__ import annotations

from sim_toy_ivr import ALICE, BOB, PIN, attach

from simulator import Caller, Engineer, Simulator


def test_sev1_call_connects_the_engineer_who_accepts(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(Caller(keys=[PIN, "1"]))
    print(call.timeline())
    assert call.status == "completed"
    assert not call.errors
    assert call.keys == [PIN, "1"]
    assert "Connecting you to the on-call engineer." in call.heard
    assert call.dialled == [ALICE, BOB]
    assert call.connected_to == ALICE
    assert call.first_ring is not None and call.connected is not None
    assert call.first_ring < call.connected < call.hangup


def test_engineer_status_callbacks_arrive_signed_and_in_order(sim: Simulator) -> None:
    app = attach(sim)
    sim.call(Caller(keys=[PIN, "1"]))
    alice = [s for to, s, _ in app.extensions["toy"]["status"] if to == ALICE]
    assert alice == ["initiated", "ringing", "in-progress", "completed"]
    bob = [s for to, s, _ in app.extensions["toy"]["status"] if to == BOB]
    assert bob[-1] == "canceled"


def test_wrong_pin_is_asked_again(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(Caller(keys=["00000000", PIN, "1"]))
    assert "That PIN is not valid." in call.heard
    assert call.connected_to == ALICE


def test_silent_caller_hears_goodbye_and_nobody_is_rung(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(Caller(keys=[None]))
    assert call.heard[-1] == "We did not receive a PIN. Goodbye."
    assert call.dialled == []
    # Greeting (2.4 s) + PIN prompt (2.8 s) + the 5 s Gather timeout + goodbye (2.8 s).
    assert 12 < call.hangup < 14


def test_severity_two_leaves_a_transcribed_voicemail(sim: Simulator) -> None:
    app = attach(sim)
    call = sim.call(Caller(keys=[PIN, "2"], message="The database is slow since noon."))
    toy = app.extensions["toy"]
    assert call.heard[-1] == "Thank you. Goodbye."
    assert [r.text for r in call.recordings] == ["The database is slow since noon."]
    assert toy["recordings"] == [call.recordings[0].url]
    assert toy["transcription"] == "The database is slow since noon."
    assert toy["recording_status"] == "completed"


def test_caller_hanging_up_on_hold_stops_the_engineers_phones(sim: Simulator) -> None:
    app = attach(sim)
    sim.engineers[ALICE] = Engineer.accepts(after=15)
    call = sim.call(Caller(keys=[PIN, "1"], hangup_after=9))
    assert call.status == "completed"
    assert call.hangup == 9
    assert call.connected is None
    assert app.extensions["toy"]["duration"] == "9"
    assert {leg.status for leg in call.legs} == {"canceled"}
    assert not call.errors


def test_caller_who_waits_for_the_prompt_hears_it_whole(sim: Simulator) -> None:
    attach(sim)
    barge = sim.call(Caller(keys=[PIN, "1"]))
    patient = sim.call(Caller(keys=[PIN, "1"], press="after"))
    assert barge.caller.heard[1].interrupted
    assert not patient.caller.heard[1].interrupted
    assert patient.connected > barge.connected


def test_hang_up_at_the_second_gather(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(Caller(keys=[PIN, "1"], hangup_at_gather=2))
    assert call.keys == [PIN]
    assert call.dialled == []
    assert call.status == "completed"


def test_keys_string_feeds_one_entry_per_gather(sim: Simulator) -> None:
    attach(sim)
    call = sim.call(keys=f"{PIN},1")
    assert call.keys == [PIN, "1"]
    assert call.connected_to == ALICE
