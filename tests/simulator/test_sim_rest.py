"""The local REST API: Twilio's shapes, auth and OpenAPI checks, seen through twilio-python."""

from __future__ import annotations

import time

import pytest
import requests
from sim_toy_ivr import ALICE, HOTLINE, PUBLIC, SID, TOKEN, attach
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from simulator import Simulator

CALLS = f"/2010-04-01/Accounts/{SID}/Calls.json"


def test_missing_to_is_refused_in_twilio_error_format(sim: Simulator) -> None:
    resp = requests.post(
        sim.rest_url + CALLS, data={"From": HOTLINE, "Url": PUBLIC + "/x"}, auth=(SID, TOKEN)
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "code": 21201,
        "message": "No 'To' number is specified",
        "more_info": "https://www.twilio.com/docs/errors/21201",
        "status": 400,
    }


def test_unknown_parameter_is_refused(sim: Simulator) -> None:
    form = {"To": ALICE, "From": HOTLINE, "Url": PUBLIC + "/x", "Colour": "red"}
    resp = requests.post(sim.rest_url + CALLS, data=form, auth=(SID, TOKEN))
    assert resp.status_code == 400
    assert resp.json()["code"] == 20001
    assert "Colour" in resp.json()["message"]


def test_twilio_client_raises_on_a_call_without_twiml(sim: Simulator) -> None:
    with pytest.raises(TwilioRestException) as exc:
        sim.twilio_client().calls.create(to=ALICE, from_=HOTLINE)
    assert exc.value.status == 400
    assert exc.value.code == 21205


def test_twilio_client_raises_on_a_message_without_body(sim: Simulator) -> None:
    with pytest.raises(TwilioRestException) as exc:
        sim.twilio_client().messages.create(to=ALICE, from_=HOTLINE)
    assert exc.value.code == 21602


def test_wrong_credentials_get_401(sim: Simulator) -> None:
    client = Client(SID, "wrong-token")
    client.api.base_url = sim.rest_url
    with pytest.raises(TwilioRestException) as exc:
        client.calls.create(to=ALICE, from_=HOTLINE, url=PUBLIC + "/x")
    assert exc.value.status == 401
    assert exc.value.code == 20003


def test_message_is_recorded_and_its_status_callbacks_are_signed(sim: Simulator) -> None:
    app = attach(sim)
    msg = sim.twilio_client().messages.create(
        to=ALICE, from_=HOTLINE, body="Ticket HL-1", status_callback=PUBLIC + "/sms/status"
    )
    assert msg.sid.startswith("SM") and msg.status == "queued" and msg.body == "Ticket HL-1"
    deadline = time.monotonic() + 5
    while len(app.extensions["toy"].get("sms", [])) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    # The toy app answers 403 to a bad signature, so a recorded status proves it was signed.
    assert app.extensions["toy"]["sms"] == ["sent", "delivered"]
    assert [m["body"] for m in sim.messages] == ["Ticket HL-1"]


def test_created_call_rings_and_can_be_canceled_while_ringing(sim: Simulator) -> None:
    attach(sim)
    client = sim.twilio_client()
    call = client.calls.create(to="+15550009999", from_=HOTLINE, url=PUBLIC + "/ivr/hold")
    assert call.status == "queued" and call.direction == "outbound-api"
    updated = client.calls(call.sid).update(status="canceled")
    assert updated.status == "canceled"
    sim.run()
    assert client.calls(call.sid).fetch().status == "canceled"
