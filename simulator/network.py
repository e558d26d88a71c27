"""The simulated phone network: places calls, runs legs, and backs the REST server."""

from __future__ import annotations

import email.utils
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from twilio.rest import Client
from werkzeug.datastructures import MultiDict

from simulator import twiml
from simulator.clock import Fetch, Scheduler, Sleep
from simulator.legs import ENDED, ApiEnd, Goto, Leg, PartyHangup, Redirected
from simulator.openapi import ApiError, resource_fields
from simulator.parties import Caller, Engineer
from simulator.report import CallReport, LegReport, Recording, SimError, Webhook
from simulator.rest import RestServer
from simulator.rooms import CallQueue, Conference, QueueEntry
from simulator.transport import HttpTransport, Transport, Webhooks, WsgiApp, WsgiTransport

Listener = Callable[[str, Leg, Any], None]


def twilio_client(rest_url: str, account_sid: str, auth_token: str) -> Client:
    """A twilio.rest.Client whose API requests go to `rest_url` instead of api.twilio.com."""
    client = Client(account_sid, auth_token)
    # Domain.absolute_url() reads base_url at request time, so this is all it takes.
    client.api.base_url = rest_url.rstrip("/")
    return client


class Simulator:
    """A Twilio stand-in: inbound calls into the service, engineers' phones, the REST API."""

    def __init__(
        self,
        public_base_url: str,
        auth_token: str,
        account_sid: str,
        service: str | WsgiApp | Transport | None = None,
        *,
        engineers: Mapping[str, Engineer] | None = None,
        default_engineer: Engineer | None = None,
        hotline_number: str = "+15550100000",
        voice_path: str = "/ivr/voice",
        status_path: str = "/ivr/status",
        fallback_path: str | None = "/ivr/fallback",
        grace: float = 0.15,
        max_virtual: float = 4 * 3600,
        max_wall: float = 60.0,
        webhook_timeout: float = 15.0,
        play_seconds: float = 5.0,
        dial_delay: float = 1.0,
        signature: str = "valid",
        rest_host: str = "127.0.0.1",
        rest_port: int = 0,
    ) -> None:
        self.public_base_url = public_base_url.rstrip("/")
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.engineers: dict[str, Engineer] = dict(engineers or {})
        self.default_engineer = default_engineer or Engineer.accepts()
        self.hotline_number = hotline_number
        self.voice_path, self.status_path, self.fallback_path = (
            voice_path,
            status_path,
            fallback_path,
        )
        self.play_seconds = play_seconds
        self.dial_delay = dial_delay
        self.lock = threading.RLock()
        self.sched = Scheduler(
            grace=grace, max_virtual=max_virtual, max_wall=max_wall, fetch_timeout=webhook_timeout
        )
        self.webhooks = Webhooks(
            self.public_base_url, auth_token, timeout=webhook_timeout, signature=signature
        )
        self.rest = RestServer(
            self, account_sid, auth_token, host=rest_host, port=rest_port,
            activity=self.sched.activity,
        )  # fmt: skip
        self.legs: dict[str, Leg] = {}
        self.webhook_log: list[Webhook] = []
        self.errors: list[SimError] = []
        self.recordings: list[Recording] = []
        self.messages: list[dict[str, Any]] = []
        # Fault injection for message creation: errors raised (one per request, in order)
        # before the message exists, and a delay after it is recorded but before the answer.
        self.message_errors: list[ApiError] = []
        self.message_delay: float = 0.0
        # time.monotonic() at which each message's POST arrived, by sid (latency benchmarks).
        self.message_arrivals: dict[str, float] = {}
        self.rooms: dict[str, Conference] = {}
        self.queues: dict[str, CallQueue] = {}
        self.listeners: list[Listener] = []
        self._current: CallReport | None = None
        self._t0 = 0.0
        if service is not None:
            self.attach(service)

    # -- setup ------------------------------------------------------------------------------

    def attach(
        self, service: str | WsgiApp | Transport, busy: Callable[[], bool] | None = None
    ) -> None:
        """Deliver webhooks to a base URL (real HTTP), a WSGI app, or any Transport.

        `busy`, if given, says whether the service still has work under way that may call the
        REST API (requests it started in the background); virtual time then waits for it to
        be done instead of for a fixed grace period of wall-clock quiet.
        """
        self.sched.service_busy = busy
        if isinstance(service, str):
            self.webhooks.transport = HttpTransport(service)
        elif hasattr(service, "send"):
            self.webhooks.transport = service  # type: ignore[assignment]
        else:
            self.webhooks.transport = WsgiTransport(service, self.public_base_url)  # type: ignore[arg-type]

    @property
    def rest_url(self) -> str:
        """Base URL of the local REST API (starts the server if needed)."""
        self.rest.start()
        return self.rest.url

    def twilio_client(self) -> Client:
        """A twilio.rest.Client talking to this simulator."""
        return twilio_client(self.rest_url, self.account_sid, self.auth_token)

    def start(self) -> Simulator:
        self.rest.start()
        return self

    def close(self) -> None:
        self.rest.stop()
        self.sched.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def now(self) -> float:
        return self.sched.now

    def emit(self, event: str, leg: Leg, data: Any) -> None:
        for listener in self.listeners:
            listener(event, leg, data)

    def engineer_for(self, number: str) -> Engineer:
        return (self.engineers.get(number) or self.default_engineer).fresh()

    # -- placing a call ---------------------------------------------------------------------

    def call(
        self,
        caller: Caller | None = None,
        *,
        keys: list[str | None] | str | None = None,
        from_: str = "+15557654321",
        to: str | None = None,
    ) -> CallReport:
        """Phone the service, run everything until the network is quiet, and report."""
        if caller is None:
            caller = Caller(keys=parse_keys(keys) if isinstance(keys, str) else (keys or []))
        with self.lock:
            if not any(not t.done for t in self.sched.tasks):
                self.sched.now = 0.0
            self._t0 = self.now
            start_hooks, start_errors = len(self.webhook_log), len(self.errors)
            start_recs, start_msgs = len(self.recordings), len(self.messages)
            leg = Leg(
                self,
                "CA" + uuid.uuid4().hex,
                "inbound",
                from_,
                to or self.hotline_number,
                caller,
                goto=Goto(self.public_base_url + self.voice_path),
                fallback_url=self.public_base_url + self.fallback_path
                if self.fallback_path
                else None,
                status_callback=self.public_base_url + self.status_path,
            )
            report = CallReport(leg.sid, leg.report)
            self._current = report
            self.legs[leg.sid] = leg
        self.start_leg(leg)
        if caller.hangup_after is not None:
            self.sched.spawn(self._hangup_timer(leg, caller.hangup_after), f"hangup {leg.sid}")
        self.run()
        with self.lock:
            self._current = None
            report.webhooks = self.webhook_log[start_hooks:]
            report.errors = self.errors[start_errors:]
            report.recordings = self.recordings[start_recs:]
            report.messages = self.messages[start_msgs:]
            report.hangup = leg.report.ended_at
            self._shift(report)
        return report

    def _inbound_leg(self, caller: Caller, from_: str, to: str | None = None) -> Leg:
        """A new inbound leg to the hotline's Voice URL, registered on the network (under lock)."""
        leg = Leg(
            self,
            "CA" + uuid.uuid4().hex,
            "inbound",
            from_,
            to or self.hotline_number,
            caller,
            goto=Goto(self.public_base_url + self.voice_path),
            fallback_url=self.public_base_url + self.fallback_path if self.fallback_path else None,
            status_callback=self.public_base_url + self.status_path,
        )
        self.legs[leg.sid] = leg
        return leg

    def call_many(self, callers: Sequence[tuple[Caller, str]]) -> list[LegReport]:
        """Place several calls at once (caller, from number), run until quiet, report each leg.

        Unlike call(), nothing is shifted or sliced per call: use each LegReport (its status,
        bridged_with) and the network's webhook_log, errors and messages.
        """
        with self.lock:
            legs = [self._inbound_leg(caller, from_) for caller, from_ in callers]
        for leg, (caller, _from) in zip(legs, callers, strict=True):
            self.start_leg(leg)
            if caller.hangup_after is not None:
                self.sched.spawn(self._hangup_timer(leg, caller.hangup_after), f"hangup {leg.sid}")
        self.run()
        return [leg.report for leg in legs]

    def place(self, caller: Caller, *, from_: str, to: str | None = None) -> LegReport:
        """Start another inbound call while `call()` runs (from a listener); its caller's report.

        Only the call `call()` placed gets a CallReport; a call placed here shares the network
        (and the hold queues, engineers and REST API) and is reported by its caller's leg.
        """
        with self.lock:
            leg = self._inbound_leg(caller, from_, to)
        leg.task = self.sched.spawn(leg.main(), f"inbound {leg.sid}")
        if caller.hangup_after is not None:
            self.sched.spawn(self._hangup_timer(leg, caller.hangup_after), f"hangup {leg.sid}")
        return leg.report

    def run(self) -> None:
        """Run the network until every leg ended and no request is in flight."""
        self.sched.run()
        for reason in self.sched.errors:
            self.add_error(SimError(self.now, "", None, reason))
        self.sched.errors.clear()

    def _hangup_timer(self, leg: Leg, after: float) -> Any:

        yield from ()

        yield Sleep(after)
        if leg.status not in ENDED:
            leg.end_now(PartyHangup("completed", f"hung up after {after:g} s"))

    def _shift(self, report: CallReport) -> None:
        """Make the report's times relative to the start of the call."""
        t0 = self._t0
        for lr in [report.caller, *report.legs]:
            lr.created_at -= t0
            for name in ("rang_at", "answered_at", "ended_at"):
                if getattr(lr, name) is not None:
                    setattr(lr, name, getattr(lr, name) - t0)
            for u in lr.heard:
                u.at -= t0
            for k in lr.keys:
                k.at -= t0
        for w in report.webhooks:
            w.at -= t0
        for e in report.errors:
            e.at -= t0
        answered = report.caller.answered_at or 0.0
        for name in ("first_ring", "connected", "hangup"):
            value = getattr(report, name)
            if value is not None:
                setattr(report, name, value - t0 - answered)

    # -- services for the legs ----------------------------------------------------------------

    def start_leg(self, leg: Leg) -> None:
        leg.task = self.sched.spawn(leg.main(), f"{leg.direction} {leg.to}")
        if self._current is not None and leg.party.kind != "caller":
            self._current.legs.append(leg.report)

    def add_error(self, error: SimError) -> None:
        with self.lock:
            self.errors.append(error)

    def add_webhook(self, hook: Webhook) -> None:
        with self.lock:
            self.webhook_log.append(hook)
        self.emit("webhook", self.legs.get(hook.leg) or next(iter(self.legs.values())), hook)

    def add_recording(self, leg: Leg, text: str, duration: float) -> Recording:
        sid = "RE" + uuid.uuid4().hex
        base = self.rest.url if self.rest._server is not None else "https://api.twilio.com"
        url = f"{base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"
        rec = Recording(sid, leg.sid, url, duration, text)
        with self.lock:
            self.recordings.append(rec)
        return rec

    def spawn_callback(
        self, leg: Leg, url: str, params: dict[str, str], method: str | None, delay: float
    ) -> None:
        """Fire-and-forget webhook (recording, transcription, action after hang-up)."""

        def proc() -> Any:

            if delay:
                yield Sleep(delay)
            yield from leg.callback(url, params, (method or "POST").upper(), "callback")

        self.sched.spawn(proc(), f"callback {url}")

    def dial_child(self, parent: Leg, noun: twiml.Node, caller_id: str, doc_url: str) -> Leg:
        number = noun.text
        url = noun.get("url")
        events = tuple((noun.get("statusCallbackEvent") or "completed").split())
        cb = noun.get("statusCallback")
        leg = Leg(
            self,
            "CA" + uuid.uuid4().hex,
            "outbound-dial",
            caller_id,
            number,
            self.engineer_for(number),
            goto=Goto(urljoin(doc_url, url), (noun.get("method") or "POST").upper())
            if url
            else None,
            status_callback=urljoin(doc_url, cb) if cb else None,
            status_callback_method=(noun.get("statusCallbackMethod") or "POST").upper(),
            events=events,
            parent=parent,
        )
        with self.lock:
            self.legs[leg.sid] = leg
        return leg

    def note_ring(self, leg: Leg) -> None:
        report = self._current
        if report is not None and report.first_ring is None:
            report.first_ring = self.now

    def mark_connected(self, a: Leg, b: Leg) -> None:
        """Two legs can hear each other; the first time the caller meets an engineer counts."""
        report = self._current
        caller, other = (a, b) if a.party.kind == "caller" else (b, a)
        if report is None or caller.sid != report.sid or other.party.kind == "caller":
            return
        if report.connected is None:
            report.connected = self.now
            report.connected_to = other.to
            report.connected_party = other.party.kind
            self.emit("connected", caller, other)

    def check_conference(self, room: Conference) -> None:
        if not room.started:
            return
        callers = [p.leg for p in room.participants if p.leg.party.kind == "caller"]
        others = [p.leg for p in room.participants if p.leg.party.kind != "caller"]
        for caller in callers:
            for other in others:
                self.mark_connected(caller, other)
                for a, b in ((caller, other), (other, caller)):
                    if b.sid not in a.report.bridged_with:
                        a.report.bridged_with.append(b.sid)

    def leg_ended(self, leg: Leg) -> None:
        """Hook for the end of a leg (kept for listeners)."""

    def room(self, name: str) -> Conference:
        with self.lock:
            room = self.rooms.get(name)
            if room is None or room.ended:
                room = self.rooms[name] = Conference(name)
            return room

    def queue(self, name: str) -> CallQueue:
        with self.lock:
            return self.queues.setdefault(name, CallQueue(name))

    def queue_of(self, entry: QueueEntry) -> CallQueue:
        return next(q for q in self.queues.values() if entry in q.waiters)

    # -- the REST API backend (called from the REST server's threads) ---------------------------

    def create_call(self, form: MultiDict[str, str]) -> dict[str, Any]:
        to, from_ = form["To"], form["From"]
        goto = Goto(form.get("Url", ""), form.get("Method", "POST").upper())
        if form.get("Twiml") and not form.get("Url"):
            goto = Goto(self.public_base_url + "/", "POST", twiml=form["Twiml"])
        leg = Leg(
            self,
            "CA" + uuid.uuid4().hex,
            "outbound-api",
            from_,
            to,
            self.engineer_for(to),
            goto=goto,
            fallback_url=form.get("FallbackUrl"),
            fallback_method=form.get("FallbackMethod", "POST").upper(),
            status_callback=form.get("StatusCallback"),
            status_callback_method=form.get("StatusCallbackMethod", "POST").upper(),
            events=tuple(form.getlist("StatusCallbackEvent") or ["completed"]),
            timeout=float(form.get("Timeout", "60")),
        )
        with self.lock:
            self.legs[leg.sid] = leg
        self.sched.call_soon_threadsafe(lambda: self.start_leg(leg))
        return self.call_json(leg)

    def list_calls(self, form: MultiDict[str, str]) -> dict[str, Any]:
        with self.lock:
            calls = [self.call_json(leg) for leg in self.legs.values()]
        return {"calls": calls, "page": 0, "page_size": len(calls), "next_page_uri": None}

    def get_call(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]:
        return self.call_json(self._leg(sid))

    def update_call(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]:
        leg = self._leg(sid)
        with self.lock:
            status = leg.status
            wanted = form.get("Status")
            if wanted and status not in ENDED:
                if status in {"queued", "initiated", "ringing"}:
                    leg.report.status = "canceled"
                    self.sched.call_soon_threadsafe(lambda: leg.end_now(ApiEnd("canceled")))
                elif wanted == "completed":
                    leg.report.status = "completed"
                    self.sched.call_soon_threadsafe(lambda: leg.end_now(ApiEnd("completed")))
            if form.get("Url") or form.get("Twiml"):
                if leg.status in ENDED:
                    raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
                goto = Goto(form.get("Url", ""), form.get("Method", "POST").upper())
                if form.get("Twiml") and not form.get("Url"):
                    goto = Goto(self.public_base_url + "/", "POST", twiml=form["Twiml"])
                if leg.report.answered_at is None:
                    leg.goto = goto
                else:
                    self.sched.call_soon_threadsafe(lambda: self._redirect(leg, goto))
            if form.get("StatusCallback"):
                leg.status_callback = form["StatusCallback"]
            return self.call_json(leg)

    def _redirect(self, leg: Leg, goto: Goto) -> None:
        if leg.task is not None and not leg.task.done:
            self.sched.interrupt(leg.task, Redirected(goto))

    def _leg(self, sid: str) -> Leg:
        leg = self.legs.get(sid)
        if leg is None:
            raise ApiError(
                404, 20404, f"The requested resource /2010-04-01/Accounts/{self.account_sid}"
                f"/Calls/{sid}.json was not found",
            )  # fmt: skip
        return leg

    def call_json(self, leg: Leg) -> dict[str, Any]:
        r = leg.report
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{leg.sid}.json"
        values: dict[str, Any] = {
            "sid": leg.sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "date_created": leg.created_real,
            "date_updated": email.utils.formatdate(usegmt=True),
            "direction": leg.direction,
            "from": leg.from_,
            "from_formatted": leg.from_,
            "to": leg.to,
            "to_formatted": leg.to,
            "parent_call_sid": r.parent,
            "status": r.status,
            "duration": str(leg.duration()) if r.status in ENDED else None,
            "price_unit": "USD",
            "queue_time": "0",
            "uri": uri,
            "subresource_uris": {
                "recordings": uri.replace(".json", "/Recordings.json"),
                "notifications": uri.replace(".json", "/Notifications.json"),
            },
        }
        return {f: values.get(f) for f in resource_fields("api.v2010.account.call")}

    def create_message(self, form: MultiDict[str, str]) -> dict[str, Any]:
        arrived = time.monotonic()
        with self.lock:
            error = self.message_errors.pop(0) if self.message_errors else None
        if error is not None:
            raise error
        sid = "SM" + uuid.uuid4().hex
        now = email.utils.formatdate(usegmt=True)
        msg: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "status": "queued",
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "num_segments": str(max(1, -(-len(form.get("Body", "")) // 160))),
            "num_media": str(len(form.getlist("MediaUrl"))),
            "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
        }
        with self.lock:
            self.messages.append(msg)
            self.message_arrivals[sid] = arrived
        body = {f: msg.get(f) for f in resource_fields("api.v2010.account.message")}
        if self.message_delay:
            # Accepted but not yet answered: the client dies here in the crash tests.
            time.sleep(self.message_delay)
        callback = form.get("StatusCallback")
        if callback:
            self._message_callbacks(msg, callback)
        return body

    def list_messages(self, form: MultiDict[str, str]) -> dict[str, Any]:
        """Messages filtered by To, From and DateSent (=, <, > on the date, as Twilio does)."""
        with self.lock:
            found = [m for m in self.messages if _message_matches(m, form)]
        found.sort(key=lambda m: email.utils.parsedate_to_datetime(m["date_created"]), reverse=True)
        fields = resource_fields("api.v2010.account.message")
        page = [{f: m.get(f) for f in fields} for m in found]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return {
            "messages": page, "page": 0, "page_size": len(page), "start": 0,
            "end": max(0, len(page) - 1), "first_page_uri": uri, "uri": uri,
            "next_page_uri": None, "previous_page_uri": None,
        }  # fmt: skip

    def get_message(self, sid: str, form: MultiDict[str, str]) -> dict[str, Any]:
        msg = next((m for m in self.messages if m["sid"] == sid), None)
        if msg is None:
            raise ApiError(404, 20404, f"The requested resource Messages/{sid}.json was not found")
        return {f: msg.get(f) for f in resource_fields("api.v2010.account.message")}

    def _message_callbacks(self, msg: dict[str, Any], url: str) -> None:
        """Send sent, then delivered, signed; in virtual time if a call is running."""

        def params(status: str) -> dict[str, str]:
            p = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": msg["from"] or "",
                "To": msg["to"],
                "MessageSid": msg["sid"],
                "SmsSid": msg["sid"],
                "MessageStatus": status,
                "SmsStatus": status,
            }
            if status == "delivered":
                p["RawDlrDoneDate"] = time.strftime("%y%m%d%H%M", time.gmtime())
            return p

        def deliver(status: str) -> None:
            with self.lock:
                msg["status"] = status
            res = self.webhooks.request(url, params(status))
            hook = Webhook(self.now, msg["sid"], "message", "POST", url, res.status, res.latency_ms)
            with self.lock:
                self.webhook_log.append(hook)
                if not res.ok:
                    self.errors.append(
                        SimError(self.now, msg["sid"], 15003, "message callback failed", url)
                    )

        def proc() -> Any:

            for status, delay in (("sent", 1.0), ("delivered", 2.0)):
                yield Sleep(delay)
                yield Fetch(lambda s=status: deliver(s))  # type: ignore[misc]

        if self.sched.running:

            def start() -> None:
                self.sched.spawn(proc(), f"sms {msg['sid']}")

            self.sched.call_soon_threadsafe(start)
        else:
            # No call is running: nothing owns virtual time, so deliver right away.
            def worker() -> None:
                for status in ("sent", "delivered"):
                    deliver(status)

            threading.Thread(target=worker, name=f"sms {msg['sid']}", daemon=True).start()


def _message_matches(msg: dict[str, Any], form: MultiDict[str, str]) -> bool:
    if form.get("To") and msg["to"] != form["To"]:
        return False
    if form.get("From") and msg["from"] != form["From"]:
        return False
    sent = email.utils.parsedate_to_datetime(msg["date_created"]).date().isoformat()
    # Twilio compares DateSent filters on the date (YYYY-MM-DD), whatever time is given.
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = (
        ("DateSent", lambda d: sent == d),
        ("DateSent>", lambda d: sent >= d),
        ("DateSent<", lambda d: sent <= d),
    )
    for key, ok in checks:
        value = form.get(key)
        if value and not ok(value[:10]):
            return False
    return True


def parse_keys(spec: str) -> list[str | None]:
    """'12345678,1' -> one entry per Gather; an empty entry stays silent."""
    return [part.strip() or None for part in spec.split(",")]
