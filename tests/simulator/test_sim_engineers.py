"""Engineers' phones: accept, pass, no answer, busy, voicemail, and a race to accept."""

from __future__ import annotations

from sim_toy_ivr import ALICE, BOB, PIN, attach

from simulator import Caller, Engineer, Simulator

SEV1 = [PIN, "1"]


def test_engineer_who_passes_is_not_connected(sim: Simulator) -> None:
    attach(sim)
    sim.engineers[ALICE] = Engineer.passes()
    call = sim.call(Caller(keys=SEV1, hangup_after=60))
    alice, bob = call.leg_to(ALICE), call.leg_to(BOB)
    assert "OK, passing." in alice.heard_text
    assert [k.digits for k in alice.keys] == ["2"]
    assert bob.status == "no-answer"
    assert bob.ended_at - bob.rang_at == 20  # the Timeout the service asked for
    assert call.connected is None


def test_busy_engineer_and_the_other_accepts(sim: Simulator) -> None:
    attach(sim)
    sim.engineers[ALICE] = Engineer.busy_line()
    sim.engineers[BOB] = Engineer.accepts(after=6)
    call = sim.call(Caller(keys=SEV1))
    assert call.leg_to(ALICE).status == "busy"
    assert call.leg_to(ALICE).answered_at is None
    assert call.connected_to == BOB


def test_voicemail_box_never_accepts(sim: Simulator) -> None:
    attach(sim)
    sim.engineers[ALICE] = Engineer.voicemail_box(after=1)
    sim.engineers[BOB] = Engineer.accepts(after=8)
    call = sim.call(Caller(keys=SEV1))
    alice = call.leg_to(ALICE)
    assert alice.party == "voicemail"
    assert "Press 1 to accept" in alice.heard_text
    assert [k.digits for k in alice.keys] == [""]
    assert call.connected_to == BOB
    assert call.connected_party == "engineer"


def test_two_engineers_pressing_one_at_once_connect_exactly_one(sim: Simulator) -> None:
    app = attach(sim)
    sim.engineers[BOB] = Engineer.accepts(after=4)
    call = sim.call(Caller(keys=SEV1))
    alice, bob = call.leg_to(ALICE), call.leg_to(BOB)
    assert alice.keys[0].at == bob.keys[0].at
    answers = [w for w in call.webhooks if "/ivr/screen/answer" in w.url]
    assert len(answers) == 2 and answers[0].at == answers[1].at
    bridged = [leg for leg in (alice, bob) if leg.bridged_with]
    assert len(bridged) == 1
    assert call.connected_to == bridged[0].to
    assert list(app.extensions["toy"]["claims"].values()) == [bridged[0].to]
