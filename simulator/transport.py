"""Deliver Twilio-style signed webhooks to the service over HTTP or in-process WSGI."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client

Form = list[tuple[str, str]]
WsgiApp = Callable[..., Iterable[bytes]]


@dataclass
class HttpResponse:
    """What came back from one request."""

    status: int
    content_type: str
    body: str
    # The service's own processing time, from a Server-Timing header when it sends one.
    server_ms: float | None = None


def server_timing_ms(header: str | None) -> float | None:
    """The first `dur=` of a Server-Timing header, in milliseconds."""
    for part in (header or "").replace(",", ";").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "dur":
            try:
                return float(value)
            except ValueError:
                return None
    return None


class Transport(Protocol):
    """Something that can deliver a request for a path relative to a base URL."""

    def send(
        self, method: str, path: str, form: Form, headers: dict[str, str], timeout: float
    ) -> HttpResponse: ...


class HttpTransport:
    """Real HTTP to a base URL such as http://127.0.0.1:8000."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # Keep-alive connections, as Twilio's edge keeps them; one session per sending thread.
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(
        self, method: str, path: str, form: Form, headers: dict[str, str], timeout: float
    ) -> HttpResponse:
        url = self.base_url + path
        if method == "GET":
            resp = self._session().get(url, headers=headers, timeout=timeout, allow_redirects=True)
        else:
            resp = self._session().post(url, data=form, headers=headers, timeout=timeout)
        return HttpResponse(
            resp.status_code,
            resp.headers.get("Content-Type", ""),
            resp.text,
            server_timing_ms(resp.headers.get("Server-Timing")),
        )


class WsgiTransport:
    """In-process delivery to a WSGI app; the request URL looks like the public one."""

    def __init__(self, app: WsgiApp, public_base_url: str) -> None:
        self.app = app
        self.public_base_url = public_base_url.rstrip("/")

    def send(
        self, method: str, path: str, form: Form, headers: dict[str, str], timeout: float
    ) -> HttpResponse:
        # One client per request: werkzeug's test client keeps a cookie jar and is not
        # meant to be shared between the threads that deliver simultaneous webhooks.
        client = Client(self.app)
        path_only, _, query = path.partition("?")
        resp = client.open(
            path_only or "/",
            method=method,
            base_url=self.public_base_url,
            query_string=query,
            data=MultiDict(form) if method != "GET" else None,
            headers=headers,
        )
        try:
            return HttpResponse(
                resp.status_code,
                resp.headers.get("Content-Type", ""),
                resp.get_data(as_text=True),
                server_timing_ms(resp.headers.get("Server-Timing")),
            )
        finally:
            resp.close()


@dataclass
class WebhookResult:
    """One webhook as Twilio would log it."""

    url: str
    method: str
    params: dict[str, str]
    status: int = 0
    content_type: str = ""
    body: str = ""
    latency_ms: float = 0.0
    server_ms: float | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and 200 <= self.status < 300


class Webhooks:
    """Signs requests over the public URL and routes them to the right transport."""

    def __init__(
        self,
        public_base_url: str,
        auth_token: str,
        transport: Transport | None = None,
        *,
        timeout: float = 15.0,
        signature: str = "valid",
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.transport = transport
        self.timeout = timeout
        # "valid", "forged" or "missing": lets tests prove the service rejects bad signatures.
        self.signature = signature

    def route(self, url: str) -> tuple[Transport, str]:
        """Pick the transport for an absolute URL and the path to give it."""
        if self.transport is not None and (
            url == self.public_base_url or url.startswith(self.public_base_url + "/")
        ):
            return self.transport, url[len(self.public_base_url) :] or "/"
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        return HttpTransport(f"{parts.scheme}://{parts.netloc}"), path

    def sign(self, url: str, params: dict[str, str]) -> dict[str, str]:
        """Headers Twilio sends, with a signature over the public URL."""
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "X-Home-Region": "us1",
        }
        if self.signature != "missing":
            sig = self.validator.compute_signature(url, params)
            headers["X-Twilio-Signature"] = sig if self.signature == "valid" else "Zm9yZ2VkIQ=="
        return headers

    def request(self, url: str, params: dict[str, str], method: str = "POST") -> WebhookResult:
        """Send one webhook; never raises, errors are in the result."""
        method = (method or "POST").upper()
        url = url.split("#", 1)[0]  # connection-override fragments are never sent nor signed
        if method == "GET" and params:
            url = url + ("&" if "?" in url else "?") + urlencode(params)
        signed_params = {} if method == "GET" else params
        result = WebhookResult(url=url, method=method, params=dict(params))
        started = time.monotonic()
        try:
            transport, path = self.route(url)
            form = list(signed_params.items())
            resp = transport.send(method, path, form, self.sign(url, signed_params), self.timeout)
            result.status, result.content_type, result.body = (
                resp.status,
                resp.content_type,
                resp.body,
            )
            result.server_ms = resp.server_ms
        except requests.Timeout:
            result.error = "timeout"
        except Exception as exc:  # any transport failure is a failed webhook, as in Twilio
            result.error = f"{type(exc).__name__}: {exc}"
        result.latency_ms = (time.monotonic() - started) * 1000
        if not result.error and result.latency_ms > self.timeout * 1000:
            result.error = "timeout"
        return result
