"""<Dial><Number> with whisper screening, and <Enqueue> answered by <Dial><Queue>."""

from __future__ import annotations

from typing import Any

from sim_toy_ivr import ALICE, BOB, HOTLINE, PUBLIC, SID, TOKEN, scripted_app

from simulator import Caller, Engineer, Simulator

WHISPER = (
    '<Response><Gather numDigits="1" action="/whisper/answer"><Say>Press 1 to accept.</Say>'
    "</Gather><Hangup/></Response>"
)


def whisper_answer(form: Any) -> str:
    return "<Response/>" if form.get("Digits") == "1" else "<Response><Hangup/></Response>"


def dial_pages() -> dict[str, Any]:
    return {
        "/ivr/voice": (
            '<Response><Dial action="/dialled" timeout="20">'
            f'<Number url="/whisper">{ALICE}</Number><Number url="/whisper">{BOB}</Number>'
            "</Dial></Response>"
        ),
        "/whisper": WHISPER,
        "/whisper/answer": whisper_answer,
        "/dialled": lambda f: f"<Response><Say>Dial {f['DialCallStatus']}</Say></Response>",
        "/ivr/status": "<Response/>",
    }


def test_dial_numbers_bridges_the_first_who_accepts_the_whisper() -> None:
    engineers = {ALICE: Engineer.accepts(after=5), BOB: Engineer.no_answer()}
    with Simulator(PUBLIC, TOKEN, SID, engineers=engineers, grace=0) as sim:
        sim.attach(scripted_app(dial_pages()))
        call = sim.call(Caller(talk=10))
    assert call.connected_to == ALICE
    assert call.leg_to(BOB).status == "canceled"
    assert call.leg_to(ALICE).heard_text == "Press 1 to accept."
    assert call.status == "completed" and not call.errors
    assert 5 < call.connected < 8


def test_voicemail_that_answers_first_is_not_bridged() -> None:
    engineers = {ALICE: Engineer.voicemail_box(after=1), BOB: Engineer.accepts(after=5)}
    with Simulator(PUBLIC, TOKEN, SID, engineers=engineers, grace=0) as sim:
        sim.attach(scripted_app(dial_pages()))
        call = sim.call(Caller())
    assert call.connected is None
    assert call.leg_to(BOB).status == "canceled"
    assert call.heard == ["Dial no-answer"]


def test_enqueued_caller_is_dequeued_by_an_engineer_call() -> None:
    engineers = {ALICE: Engineer.accepts(after=5, talk=15)}
    with Simulator(PUBLIC, TOKEN, SID, engineers=engineers, grace=0) as sim:
        client = sim.twilio_client()

        def voice(form: Any) -> str:
            client.calls.create(
                to=ALICE,
                from_=HOTLINE,
                twiml="<Response><Dial><Queue>sev1</Queue></Dial></Response>",
            )
            return '<Response><Enqueue waitUrl="/wait" action="/left">sev1</Enqueue></Response>'

        pages = {
            "/ivr/voice": voice,
            "/wait": "<Response><Say>You are number one in the queue.</Say></Response>",
            "/left": lambda f: f"<Response><Say>Queue {f['QueueResult']}</Say></Response>",
            "/ivr/status": "<Response/>",
        }
        app = scripted_app(pages)
        sim.attach(app)
        call = sim.call(Caller(talk=60))
    assert "You are number one in the queue." in call.heard
    assert call.connected_to == ALICE
    assert call.heard[-1] == "Queue bridged"
    waits = [form for path, form in app.extensions["seen"] if path == "/wait"]
    assert waits[0]["QueuePosition"] == "1"
