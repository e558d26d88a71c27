"""The twilio REST client, pointed at TWILIO_API_BASE_URL (Twilio itself, or the simulator)."""

from __future__ import annotations

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from kernel.config import Settings


def rest_client(settings: Settings, timeout: float = 10.0) -> Client:
    """A client for Twilio's REST API with our credentials and a bounded timeout."""
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=timeout),
    )
    # twilio-python reads the domain's base URL at request time (edge and region stay unset).
    client.api.base_url = settings.twilio_api_base_url
    return client
