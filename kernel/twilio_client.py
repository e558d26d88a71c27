"""The twilio REST client, pointed at TWILIO_API_BASE_URL (Twilio itself, or the simulator)."""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from kernel.config import Settings


def rest_client(settings: Settings, timeout: float = 10.0) -> Client:
    """A client for Twilio's REST API with our credentials and a bounded timeout."""
    http = TwilioHttpClient(timeout=timeout)
    if http.session is not None:
        # requests reads the proxy and CA-bundle variables (and walks the environment) on every
        # request; they do not change while we run, so read them once, here.
        found = http.session.merge_environment_settings(
            settings.twilio_api_base_url, {}, None, None, None
        )
        http.proxy = {**found["proxies"], **http.proxy}
        http.session.verify = found["verify"]
        http.session.trust_env = False
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
    # twilio-python reads the domain's base URL at request time (edge and region stay unset).
    client.api.base_url = settings.twilio_api_base_url
    return client
