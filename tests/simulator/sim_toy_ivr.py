"""A toy IVR shaped like the hotline: PIN, severity, conference hold, engineers over REST."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Response, abort, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from simulator import Simulator, twilio_client

PUBLIC = "https://hotline.example.com"
TOKEN = "test-auth-token"
SID = "AC" + "0" * 32
HOTLINE = "+15550100000"
ALICE, BOB = "+15550000001", "+15550000002"
PIN = "12345678"


def make_app(rest_url: str, oncall: list[str], mode: str = "normal") -> Flask:
    """The toy IVR: PIN, severity, conference hold, engineers screened over REST."""
    app = Flask(__name__)
    app.config.update(SERVER_NAME="hotline.example.com", PREFERRED_URL_SCHEME="https")
    state: dict[str, Any] = {"claims": {}, "legs": {}, "status": [], "recordings": []}
    lock = threading.Lock()
    app.extensions["toy"] = state
    client = twilio_client(rest_url, SID, TOKEN)

    def twiml(resp: VoiceResponse | str) -> Response:
        return Response(str(resp), mimetype="text/xml")

    @app.before_request
    def check_signature() -> None:
        url = PUBLIC + request.path
        if request.query_string:
            url += "?" + request.query_string.decode()
        sig = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(url, request.form, sig):
            abort(403)

    @app.post("/ivr/voice")
    def voice() -> Response:
        if mode == "malformed":
            return twiml("<Response><Say>Welcome<Say></Response>")
        if mode == "unknown_attr":
            return twiml('<Response><Say colour="red">Welcome</Say></Response>')
        if mode == "slow":
            time.sleep(0.6)
        if mode == "html":
            return Response("<Response/>", mimetype="application/json")
        resp = VoiceResponse()
        resp.say("Welcome to the severity one hotline.")
        g = Gather(num_digits=8, action=url_for("pin"), timeout=5)
        g.say("Please enter your eight digit support PIN.")
        resp.append(g)
        resp.say("We did not receive a PIN. Goodbye.")
        resp.hangup()
        return twiml(resp)

    @app.post("/ivr/pin")
    def pin() -> Response:
        resp = VoiceResponse()
        if request.form.get("Digits") != PIN:
            resp.say("That PIN is not valid.")
            resp.redirect(url_for("voice"))
            return twiml(resp)
        g = Gather(num_digits=1, action=url_for("severity"), timeout=5)
        g.say("If your service is completely down, press 1. Otherwise press 2.")
        resp.append(g)
        resp.redirect(url_for("pin"))
        return twiml(resp)

    @app.post("/ivr/severity")
    def severity() -> Response:
        call_sid = request.form["CallSid"]
        resp = VoiceResponse()
        if request.form.get("Digits") != "1":
            resp.say("Please leave a message after the beep.")
            resp.record(
                action=url_for("recorded"),
                max_length=60,
                transcribe_callback=url_for("transcribed"),
                recording_status_callback=url_for("recording_status"),
            )
            return twiml(resp)
        for number in oncall:
            leg = client.calls.create(
                to=number,
                from_=HOTLINE,
                url=PUBLIC + url_for("screen", call=call_sid),
                status_callback=PUBLIC + url_for("engineer_status", call=call_sid),
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=20,
            )
            with lock:
                state["legs"].setdefault(call_sid, []).append(leg.sid)
        resp.say("Connecting you to the on-call engineer.")
        dial = Dial(action=url_for("after_conference"))
        dial.conference(
            call_sid,
            start_conference_on_enter=False,
            end_conference_on_exit=True,
            wait_url=url_for("hold"),
        )
        resp.append(dial)
        return twiml(resp)

    @app.post("/ivr/hold")
    def hold() -> Response:
        resp = VoiceResponse()
        resp.say("Please hold while we reach an engineer.")
        resp.pause(length=5)
        return twiml(resp)

    @app.post("/ivr/screen")
    def screen() -> Response:
        resp = VoiceResponse()
        g = Gather(num_digits=1, action=url_for("screen_answer", call=request.args["call"]))
        g.say("Severity one from Acme. Press 1 to accept, 2 to pass.")
        resp.append(g)
        resp.say("Goodbye.")
        resp.hangup()
        return twiml(resp)

    @app.post("/ivr/screen/answer")
    def screen_answer() -> Response:
        call_sid = request.args["call"]
        me = request.form["CallSid"]
        resp = VoiceResponse()
        if request.form.get("Digits") != "1":
            resp.say("OK, passing.")
            resp.hangup()
            return twiml(resp)
        with lock:
            taken = call_sid in state["claims"]
            if not taken:
                state["claims"][call_sid] = request.form["To"]
        if taken:
            resp.say("Another engineer already took this call.")
            resp.hangup()
            return twiml(resp)
        for other in state["legs"].get(call_sid, []):
            if other != me:
                client.calls(other).update(status="completed")
        resp.say("Connecting you to the customer.")
        dial = Dial()
        dial.conference(call_sid, start_conference_on_enter=True, end_conference_on_exit=True)
        resp.append(dial)
        return twiml(resp)

    @app.post("/ivr/after-conference")
    def after_conference() -> Response:
        resp = VoiceResponse()
        resp.say("The engineer has left. Goodbye.")
        resp.hangup()
        return twiml(resp)

    @app.post("/ivr/engineer-status")
    def engineer_status() -> tuple[str, int]:
        with lock:
            state["status"].append(
                (request.form["To"], request.form["CallStatus"], request.form["SequenceNumber"])
            )
        return "", 204

    @app.post("/ivr/status")
    def status() -> tuple[str, int]:
        # The caller left: stop ringing engineers who have not answered yet.
        call_sid = request.form["CallSid"]
        with lock:
            state["caller_status"] = request.form["CallStatus"]
            state["duration"] = request.form.get("CallDuration")
            legs = [] if call_sid in state["claims"] else state["legs"].get(call_sid, [])
        for sid in legs:
            client.calls(sid).update(status="completed")
        return "", 204

    @app.post("/ivr/recorded")
    def recorded() -> Response:
        with lock:
            state["recordings"].append(request.form["RecordingUrl"])
        resp = VoiceResponse()
        resp.say("Thank you. Goodbye.")
        resp.hangup()
        return twiml(resp)

    @app.post("/ivr/transcribed")
    def transcribed() -> tuple[str, int]:
        with lock:
            state["transcription"] = request.form["TranscriptionText"]
        return "", 204

    @app.post("/ivr/recording-status")
    def recording_status() -> tuple[str, int]:
        with lock:
            state["recording_status"] = request.form["RecordingStatus"]
        return "", 204

    @app.post("/sms/status")
    def sms_status() -> tuple[str, int]:
        with lock:
            state.setdefault("sms", []).append(request.form["MessageStatus"])
        return "", 204

    @app.post("/ivr/fallback")
    def fallback() -> Response:
        with lock:
            state["fallback"] = (request.form["ErrorCode"], request.form["ErrorUrl"])
        resp = VoiceResponse()
        resp.say("We are having trouble. Please leave a message.")
        resp.record(action=url_for("recorded"), max_length=60)
        return twiml(resp)

    return app


def attach(sim: Simulator, mode: str = "normal", oncall: list[str] | None = None) -> Flask:
    """Build the toy app against the simulator's REST server and route webhooks to it."""
    app = make_app(sim.rest_url, oncall if oncall is not None else [ALICE, BOB], mode)
    sim.attach(app)
    return app


def scripted_app(pages: dict[str, Any]) -> Flask:
    """A bare service: each path answers a fixed TwiML string or a function of the form."""
    app = Flask(__name__)
    seen: list[tuple[str, dict[str, str]]] = []
    app.extensions["seen"] = seen

    def view(path: str) -> Response:
        seen.append((request.path, request.form.to_dict()))
        page = pages.get(request.path)
        if page is None:
            abort(404)
        body = page(request.form) if callable(page) else page
        return Response(body, mimetype="text/xml")

    app.add_url_rule("/<path:path>", view_func=view, methods=["POST"])
    return app
