"""A Twilio-compatible phone simulator: place real calls into the hotline without Twilio.

README
======
Pieces, one job each: ``clock`` (discrete-event scheduler, virtual time), ``transport``
(signed webhooks over HTTP or in-process WSGI), ``twiml`` (Twilio's parsing/validation
rules), ``legs`` (a call leg executing TwiML verb by verb), ``rooms`` (bridges, conferences,
queues), ``rest`` + ``openapi`` (Twilio's REST API checked against Twilio's OpenAPI subset),
``parties`` (caller and engineer scripts), ``report`` (what a call produced), ``network``
(``Simulator``, tying it together) and ``terminal`` (the interactive phone).

End-to-end test::

    with Simulator(PUBLIC_BASE_URL, AUTH_TOKEN, ACCOUNT_SID,
                   engineers={"+15550000001": Engineer.accepts(after=4)}) as sim:
        app = create_app({"TWILIO_API_BASE_URL": sim.rest_url, ...})
        sim.attach(app)            # or sim.attach("http://127.0.0.1:8000")
        call = sim.call(Caller(keys=["12345678", "1"]))
        assert "Connecting you" in call.heard_text
        assert call.connected_to == "+15550000001" and call.connected < 20

Pointing twilio.rest.Client at the REST server: ``Domain.absolute_url()`` reads
``base_url`` at request time, so set it on the api domain (keep edge/region unset)::

    client = Client(account_sid, auth_token)
    client.api.base_url = settings.TWILIO_API_BASE_URL   # e.g. http://127.0.0.1:8010
    # requests now go to {base_url}/2010-04-01/Accounts/AC.../Calls.json

``simulator.twilio_client(rest_url, sid, token)`` does exactly that.

Terminal phone: ``simulator.terminal.run(base_url, public_base_url, auth_token, account_sid,
from_number, to_number, keys="12345678,1", rest_port=8010)``; the service must use
``TWILIO_API_BASE_URL=http://127.0.0.1:8010``.

Assumptions where Twilio documents nothing: a whisper that hangs up gives the parent
``DialCallStatus=no-answer``; the other <Number> legs are cut when the first one answers;
``<Reject>`` ends as busy (reason=busy) or no-answer; Dial's ~5 s timeout buffer is ignored.
"""

from simulator.network import Simulator, parse_keys, twilio_client
from simulator.parties import Caller, Engineer, Prompt
from simulator.report import CallReport, LegReport
from simulator.rest import RestServer

__all__ = [
    "CallReport",
    "Caller",
    "Engineer",
    "LegReport",
    "Prompt",
    "RestServer",
    "Simulator",
    "parse_keys",
    "twilio_client",
]
