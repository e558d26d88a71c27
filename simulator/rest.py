"""Twilio's REST API (calls and messages), served locally from a background thread."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from typing import Any, Protocol

from werkzeug.datastructures import MultiDict
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from simulator.clock import Activity
from simulator.openapi import ApiError, check_form, check_query

_ACCOUNT = r"/2010-04-01/Accounts/(?P<account>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    ("POST", re.compile(_ACCOUNT + r"/Calls\.json$"), "/Calls.json", "create_call"),
    ("GET", re.compile(_ACCOUNT + r"/Calls\.json$"), "/Calls.json", "list_calls"),
    ("POST", re.compile(_ACCOUNT + r"/Calls/(?P<sid>[^/]+)\.json$"), "/Calls/{Sid}.json",
     "update_call"),
    ("GET", re.compile(_ACCOUNT + r"/Calls/(?P<sid>[^/]+)\.json$"), "/Calls/{Sid}.json",
     "get_call"),
    ("POST", re.compile(_ACCOUNT + r"/Messages\.json$"), "/Messages.json", "create_message"),
    ("GET", re.compile(_ACCOUNT + r"/Messages\.json$"), "/Messages.json", "list_messages"),
    ("GET", re.compile(_ACCOUNT + r"/Messages/(?P<sid>[^/]+)\.json$"), "/Messages/{Sid}.json",
     "get_message"),
]  # fmt: skip


class Backend(Protocol):
    """What the REST server needs from the phone network behind it."""

    def create_call(self, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def list_calls(self, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def update_call(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def get_call(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def create_message(self, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def get_message(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]: ...
    def list_messages(self, form: MultiDict[str, str]) -> dict[str, Any]: ...


class RestServer:
    """A threaded local HTTP server answering Twilio REST paths with Twilio's JSON shapes."""

    def __init__(
        self,
        backend: Backend,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        activity: Activity | None = None,
    ) -> None:
        self.backend = backend
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.activity = activity or Activity()
        self.requests: list[dict[str, Any]] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL to give twilio.rest.Client (client.api.base_url)."""
        if self._server is None:
            raise RuntimeError("the REST server is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> RestServer:
        if self._server is None:
            self._server = make_server(
                self.host, self.port, self.wsgi, threaded=True, request_handler=_QuietHandler
            )
            # A short poll interval keeps stop() (and so each test) fast.
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="twilio-rest-sim",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(5)
            self._server = None

    def __enter__(self) -> RestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The WSGI app; also usable in-process."""
        self.activity.begin()
        try:
            request = Request(environ)
            response = self.handle(request)
            return response(environ, start_response)
        finally:
            self.activity.end()

    def handle(self, request: Request) -> Response:
        form = request.form if request.method == "POST" else request.args
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "form": form.to_dict(flat=False),
        }
        self.requests.append(entry)
        try:
            self._authenticate(request)
            for method, pattern, template, name in ROUTES:
                m = pattern.match(request.path)
                if m is None or method != request.method:
                    continue
                if m["account"] != self.account_sid:
                    raise ApiError(
                        404, 20404, f"The requested resource {request.path} was not found"
                    )
                if method == "POST":
                    check_form("/2010-04-01/Accounts/{AccountSid}" + template, method, form)
                else:
                    check_query("/2010-04-01/Accounts/{AccountSid}" + template, method, form)
                args = [m["sid"]] if "sid" in m.groupdict() else []
                body = getattr(self.backend, name)(*args, form)
                status = 201 if name.startswith("create") else 200
                entry["status"] = status
                return _json(body, status)
            raise ApiError(404, 20404, f"The requested resource {request.path} was not found")
        except ApiError as err:
            entry["status"] = err.status
            entry["error"] = err.to_json()
            resp = _json(err.to_json(), err.status)
            if err.status == 401:
                resp.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return resp

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            if user == self.account_sid and password == self.auth_token:
                return
        raise ApiError(401, 20003, "Authenticate")


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class _QuietHandler(WSGIRequestHandler):
    """Serves requests without an access-log line each (the call report says what happened)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass
