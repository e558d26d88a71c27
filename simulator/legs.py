"""One call leg: rings, answers, and executes TwiML verb by verb in virtual time."""

from __future__ import annotations

import email.utils
from collections.abc import Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from simulator import twiml
from simulator.clock import FETCH_TIMED_OUT, Fetch, Sleep, Task, Terminated
from simulator.parties import KEY_INTERVAL, Caller, Party, Prompt, speech_seconds
from simulator.report import KeyPress, LegReport, SimError, Utterance, Webhook
from simulator.rooms import Bridge, Conference, Participant, QueueEntry
from simulator.transport import WebhookResult

if TYPE_CHECKING:
    from simulator.network import Simulator

Proc = Generator[Any, Any, Any]
APP_ERROR = "We are sorry, an application error has occurred. Goodbye."
UNSUPPORTED = {"Connect", "Start", "Stop", "Pay", "Refer", "Echo", "Sms"}
ENDED = {"completed", "busy", "no-answer", "canceled", "failed"}


class LegEnd(Exception):
    """The leg is over, with this final status."""

    def __init__(self, status: str = "completed", reason: str = "") -> None:
        super().__init__(reason or status)
        self.status = status
        self.reason = reason


class PartyHangup(LegEnd):
    """The person (or machine) on this leg hung up."""


class ApiEnd(LegEnd):
    """The REST API ended the call (Status=canceled/completed)."""


class TwimlEnd(LegEnd):
    """<Hangup/>, <Reject/>, the end of the document, or an application error."""


class Preempt(Exception):
    """Something this leg waits for happened (bridged, dequeued, room changed)."""


class LeaveQueue(Exception):
    """<Leave/> in an Enqueue wait document."""


@dataclass
class Goto:
    """The next TwiML document to request."""

    url: str
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    twiml: str | None = None
    fallback: bool = False


class Redirected(Exception):
    """The REST API pointed the live call at new TwiML."""

    def __init__(self, goto: Goto) -> None:
        super().__init__(goto.url)
        self.goto = goto


class Leg:
    """A call leg and the coroutine that runs it."""

    def __init__(
        self,
        net: Simulator,
        sid: str,
        direction: str,
        from_: str,
        to: str,
        party: Party,
        *,
        goto: Goto | None = None,
        fallback_url: str | None = None,
        fallback_method: str = "POST",
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        events: tuple[str, ...] = ("completed",),
        timeout: float = 60.0,
        parent: Leg | None = None,
    ) -> None:
        self.net = net
        self.sid = sid
        self.direction = direction
        self.from_ = from_
        self.to = to
        self.party = party
        self.goto = goto
        self.fallback_url = fallback_url
        self.fallback_method = fallback_method
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method
        self.events = events
        self.timeout = timeout
        self.parent = parent
        self.task: Task | None = None
        self.preemptable = False
        self.gathers = 0
        self.sequence = 0
        self.created_real = email.utils.formatdate(usegmt=True)
        self.report = LegReport(
            sid, direction, from_, to, party.kind, parent=parent.sid if parent else None
        )
        self.report.created_at = net.now

    # -- small helpers ---------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.net.now

    @property
    def status(self) -> str:
        return self.report.status

    def set_status(self, status: str) -> None:
        with self.net.lock:
            if self.report.status not in ENDED:
                self.report.status = status

    def poke(self) -> None:
        """Wake the leg if it is waiting for something to happen."""
        if self.preemptable and self.task is not None:
            self.net.sched.interrupt(self.task, Preempt())

    def end_now(self, exc: LegEnd) -> None:
        """End the leg from outside (REST API, the other party, a hard limit)."""
        if self.task is not None and not self.task.done:
            self.net.sched.interrupt(self.task, exc)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark a stretch during which poke() may interrupt the leg."""
        self.preemptable = True
        try:
            yield
        finally:
            self.preemptable = False
            if self.task is not None:
                self.net.sched.discard_pending(self.task, Preempt)

    def wait(self, seconds: float) -> Proc:
        """Sleep, or return early (True) if poked."""
        with self.waiting():
            try:
                yield Sleep(seconds)
            except Preempt:
                return True
        return False

    def params(self) -> dict[str, str]:
        """The standard parameters of every request Twilio makes for this leg."""
        live = "in-progress" if self.report.answered_at is not None else "ringing"
        status = self.status if self.status in ENDED else live
        p = {
            "AccountSid": self.net.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.sid,
            "CallStatus": status,
            "Called": self.to,
            "Caller": self.from_,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
        }
        if self.parent is not None:
            p["ParentCallSid"] = self.parent.sid
        return p

    def error(self, code: int | None, message: str, url: str = "") -> None:
        self.net.add_error(SimError(self.now, self.sid, code, message, url))

    def answer(self) -> None:
        if self.report.answered_at is None:
            self.report.answered_at = self.now
            self.set_status("in-progress")

    # -- requests --------------------------------------------------------------------------

    def webhook(self, url: str, params: dict[str, str], method: str, kind: str) -> Proc:
        """Make one request and log it; returns the WebhookResult."""
        hooks, at, abandoned = self.net.webhooks, self.now, [False]

        def go() -> WebhookResult:
            res = hooks.request(url, params, method)
            # Logged here, not after the yield: the leg may be cut off (REST hang-up) before
            # it sees the answer, and the request still happened.
            if not abandoned[0]:
                self._log(at, kind, res)
            return res

        res = yield Fetch(go)
        if res is FETCH_TIMED_OUT:
            abandoned[0] = True
            res = WebhookResult(url, method, params, error="timeout")
            res.latency_ms = hooks.timeout * 1000
            self._log(at, kind, res)
        return res

    def _log(self, at: float, kind: str, res: WebhookResult) -> None:
        hook = Webhook(at, self.sid, kind, res.method, res.url, res.status, res.latency_ms)
        hook.error_code, hook.params = _failure_code(res), res.params
        hook.server_ms = res.server_ms
        self.net.add_webhook(hook)

    def callback(self, url: str, params: dict[str, str], method: str, kind: str) -> Proc:
        """A webhook whose answer Twilio ignores; a 4xx/5xx is warning 15003."""
        res = yield from self.webhook(url, params, method, kind)
        if not res.ok:
            self.error(15003, f"{kind} callback failed: {res.status or res.error}", res.url)

    def status_event(self, event: str) -> Proc:
        """Send a call-progress status callback if this event was asked for."""
        if not self.status_callback or event not in self.events:
            return
        p = self.params()
        p["CallStatus"] = "in-progress" if event == "answered" else p["CallStatus"]
        if event in {"initiated", "ringing"}:
            p["CallStatus"] = event
        p.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(self.sequence),
            Timestamp=email.utils.formatdate(usegmt=True),
        )
        if event == "completed":
            p["CallDuration"] = str(self.duration())
        self.sequence += 1
        yield from self.callback(self.status_callback, p, self.status_callback_method, "status")

    def duration(self) -> int:
        if self.report.answered_at is None:
            return 0
        end = self.report.ended_at if self.report.ended_at is not None else self.now
        return round(end - self.report.answered_at)

    def fetch(self, goto: Goto, context: str) -> Proc:
        """Get and validate a TwiML document; on failure use the fallback or hang up."""
        params = self.params() | goto.params
        if goto.twiml is not None:
            body, ctype, failure = goto.twiml, "text/xml", None
        else:
            res = yield from self.webhook(goto.url, params, goto.method, "twiml")
            body, ctype = res.body, res.content_type
            code = _failure_code(res)
            failure = twiml.TwimlError(code, _describe(res)) if code else None
        if failure is None:
            try:
                return twiml.parse(body, ctype, context), goto.url
            except twiml.TwimlError as exc:
                failure = exc
        self.error(failure.code, failure.message, goto.url)
        if self.fallback_url and not goto.fallback and context == "call":
            extra = {"ErrorCode": str(failure.code), "ErrorUrl": goto.url}
            fb = Goto(self.fallback_url, self.fallback_method, goto.params | extra, fallback=True)
            result = yield from self.fetch(fb, context)
            return result
        if context in {"conference_wait", "enqueue_wait"}:
            return [twiml.Node("Pause", {"length": "10"}, "")], goto.url
        self.answer()  # Twilio answers the call to play the error message
        yield from self.hear(APP_ERROR, kind="error")
        raise TwimlEnd("completed", "application error")

    # -- running TwiML ---------------------------------------------------------------------

    def run_twiml(self, goto: Goto | None, context: str = "call") -> Proc:
        """Request and execute documents until one ends without handing over control."""
        while goto is not None:
            try:
                verbs, doc_url = yield from self.fetch(goto, context)
                goto = yield from self.execute(verbs, doc_url, context)
            except Redirected as r:
                goto = r.goto

    def execute(self, verbs: list[twiml.Node], doc_url: str, context: str) -> Proc:
        for verb in verbs:
            if verb.tag != "Reject":
                self.answer()
            if verb.tag in UNSUPPORTED:
                self.error(None, f"<{verb.tag}> is not supported by the simulator", doc_url)
                continue
            handler = getattr(self, f"verb_{verb.tag.lower()}")
            goto = yield from handler(verb, doc_url, context)
            if goto is not None:
                return goto
        return None

    def hear(self, text: str, seconds: float | None = None, kind: str = "say") -> Proc:
        """The party hears something that lasts `seconds` of virtual time."""
        u = Utterance(self.now, text, kind)
        self.report.heard.append(u)
        self.net.emit("heard", self, u)
        try:
            yield Sleep(speech_seconds(text) if seconds is None else seconds)
        except BaseException:
            u.interrupted = True
            raise
        phrase = getattr(self.party, "hangup_on", None)
        if phrase and phrase.lower() in text.lower():
            raise PartyHangup("completed", f"heard {phrase!r}")

    def verb_say(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        for _ in range(_loops(v)):
            yield from self.hear(v.text)

    def verb_play(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        if v.get("digits"):
            yield Sleep(0.5 * len(v.get("digits") or ""))
        if v.text:
            for _ in range(_loops(v)):
                yield from self.hear(f"[play {v.text}]", self.net.play_seconds, "play")

    def verb_pause(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        yield Sleep(v.number("length", 1))

    def verb_redirect(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        return Goto(urljoin(doc_url, v.text), (v.get("method") or "POST").upper())
        yield  # pragma: no cover - makes this a generator like the other verbs

    def verb_hangup(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        raise TwimlEnd("completed", "<Hangup/>")
        yield  # pragma: no cover

    def verb_reject(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        # Twilio reports a rejected call as busy (reason="busy") or no-answer (the default).
        status = "busy" if v.get("reason") == "busy" else "no-answer"
        if self.report.answered_at is not None:
            status = "completed"
        raise TwimlEnd(status, "<Reject/>")
        yield  # pragma: no cover

    def verb_leave(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        if context == "enqueue_wait":
            raise LeaveQueue()
        return None
        yield  # pragma: no cover

    def verb_gather(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        self.gathers += 1
        n = self.gathers
        action = urljoin(doc_url, v.get("action") or "") if v.get("action") else doc_url
        method = (v.get("method") or "POST").upper()
        timeout = v.number("timeout", 5)
        finish = v.get("finishOnKey", "#") or ""
        num = int(v.number("numDigits", 0))
        if isinstance(self.party, Caller) and self.party.hangup_at_gather == n:
            raise PartyHangup("completed", f"hung up at gather {n}")
        prompt = " ".join(
            c.text if c.tag == "Say" else f"[play {c.text}]" for c in v.children if c.tag != "Pause"
        )

        def ask() -> str | None:
            heard = [u.text for u in self.report.heard]
            return self.party.keys_for(Prompt(n, prompt, heard, action))

        self.net.emit("gather", self, n)
        prompts = list(v.children)
        barge = self.party.press == "barge"
        keys = ask() if barge else None
        if keys and prompts:
            # Barge-in: the first prompt starts and is cut short by the first key.
            first = prompts[0]
            if first.tag != "Pause":
                text = first.text if first.tag == "Say" else f"[play {first.text}]"
                u = Utterance(self.now, text, "say" if first.tag == "Say" else "play", True)
                self.report.heard.append(u)
                self.net.emit("heard", self, u)
        else:
            for child in prompts:
                yield from getattr(self, f"verb_{child.tag.lower()}")(child, doc_url, context)
            if not barge:
                keys = ask()
        digits, finished_on, pressed_at = "", "", self.now
        for i, key in enumerate(keys or ""):
            if i:
                yield Sleep(KEY_INTERVAL)
            if finish and key in finish:
                finished_on = key
                break
            digits += key
            if num and len(digits) >= num:
                break
        self.report.keys.append(KeyPress(pressed_at, keys or "", n))
        self.net.emit("keys", self, keys or "")
        if not (finished_on or (num and len(digits) >= num)):
            yield Sleep(timeout)
        if digits:
            return Goto(action, method, {"Digits": digits, "FinishedOnKey": finished_on})
        if v.flag("actionOnEmptyResult"):
            return Goto(action, method, {})
        return None

    def verb_record(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        action = urljoin(doc_url, v.get("action") or "") if v.get("action") else doc_url
        method = (v.get("method") or "POST").upper()
        max_len = v.number("maxLength", 3600)
        silence = v.number("timeout", 5)
        if v.flag("playBeep", True):
            yield from self.hear("[beep]", 0.5, "beep")
        message = self.party.message
        started, hung = self.now, False
        try:
            if message:
                yield Sleep(min(speech_seconds(message), max_len))
            if silence > 0:
                yield Sleep(silence)
        except PartyHangup:
            hung = True
        if not message:
            # Nothing recorded: Twilio skips the action and runs the next verb.
            if hung:
                raise PartyHangup("completed", "hung up during <Record>")
            return None
        duration = round(min(self.now - started, max_len))
        rec = self.net.add_recording(self, message, duration)
        base = self.params()
        rec_params = base | {
            "RecordingSid": rec.sid,
            "RecordingUrl": rec.url,
            "RecordingDuration": str(duration),
        }
        if v.get("recordingStatusCallback"):
            url = urljoin(doc_url, v.get("recordingStatusCallback") or "")
            extra = {"RecordingStatus": "completed", "RecordingChannels": "1"}
            extra["RecordingSource"] = "RecordVerb"
            self.net.spawn_callback(
                self, url, rec_params | extra, v.get("recordingStatusCallbackMethod"), 1.0
            )
        if v.get("transcribeCallback") or v.flag("transcribe"):
            url = urljoin(doc_url, v.get("transcribeCallback") or "")
            ok = 2 <= duration <= 120
            extra = {
                "TranscriptionSid": "TR" + rec.sid[2:],
                "TranscriptionText": message if ok else "",
                "TranscriptionStatus": "completed" if ok else "failed",
                "TranscriptionUrl": rec.url.replace("/Recordings/", "/Transcriptions/"),
            }
            if url:
                self.net.spawn_callback(self, url, rec_params | extra, "POST", 5.0)
        action_params = {k: rec_params[k] for k in ("RecordingSid", "RecordingUrl")}
        action_params["RecordingDuration"] = str(duration)
        if hung:
            action_params["Digits"] = "hangup"
            yield from self.callback(action, base | action_params, method, "action")
            raise PartyHangup("completed", "hung up during <Record>")
        return Goto(action, method, action_params)

    def verb_enqueue(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        queue = self.net.queue(v.text)
        entry = QueueEntry(self, self.now)
        queue.add(entry)
        result, left = "hangup", False
        wait_url = v.get("waitUrl")
        p = Participant(self, False, False, wait_url, v.get("waitUrlMethod") or "POST", doc_url)
        try:
            while entry.bridge is None and not left:
                with self.waiting():
                    try:
                        yield from self.wait_music(p, "enqueue_wait", entry)
                    except Preempt:
                        pass
                    except LeaveQueue:
                        left, result = True, "leave"
            if entry.bridge is not None:
                result = "bridged"
                if entry.announce_url:
                    url = urljoin(doc_url, entry.announce_url)
                    extra = {
                        "QueueSid": queue.sid,
                        "QueueTime": str(round(self.now - entry.joined)),
                    }
                    if entry.dequeuer is not None:
                        extra["DequeingCallSid"] = entry.dequeuer.sid
                    announce = Goto(url, entry.announce_method, extra)
                    verbs, adoc = yield from self.fetch(announce, "queue_announce")
                    yield from self.execute(verbs, adoc, "queue_announce")
                yield from self.talk(entry.bridge)
        except (PartyHangup, ApiEnd):
            if v.get("action"):
                params = self.params() | {"QueueResult": "hangup", "QueueSid": queue.sid}
                url = urljoin(doc_url, v.get("action") or "")
                self.net.spawn_callback(self, url, params, v.get("method"), 0.0)
            raise
        finally:
            if entry in queue.waiters:
                queue.waiters.remove(entry)
            if entry.bridge is not None and not entry.bridge.ended:
                entry.bridge.end(self, self.now)
        if v.get("action"):
            params = {
                "QueueResult": result,
                "QueueSid": queue.sid,
                "QueueTime": str(round(self.now - entry.joined)),
            }
            return Goto(urljoin(doc_url, v.get("action") or ""), v.get("method") or "POST", params)
        return None

    def wait_music(self, p: Participant, context: str, entry: QueueEntry | None = None) -> Proc:
        """Play the waitUrl in a loop (or hold music, or silence) until poked."""
        if p.wait_url is None:
            while True:
                yield from self.hear("[hold music]", self.net.play_seconds * 6, "play")
        if p.wait_url == "":
            while True:
                yield Sleep(3600)
        url = urljoin(p.doc_url, p.wait_url)
        method, answer = p.wait_method, dict[str, str]()
        while True:
            started = self.now
            extra: dict[str, str] = {}
            if entry is not None:
                queue = self.net.queue_of(entry)
                waited = str(round(self.now - entry.joined))
                extra = {
                    "QueuePosition": str(queue.waiters.index(entry) + 1),
                    "QueueSid": queue.sid,
                    "QueueTime": waited,
                    "AvgQueueTime": str(round(queue.total_wait / max(queue.served, 1))),
                    "CurrentQueueSize": str(len(queue.waiters)),
                    "MaxQueueSize": "1000",
                }
            # A <Gather> in the wait document posts its keys to its action, as anywhere else.
            verbs, wdoc = yield from self.fetch(Goto(url, method, extra | answer), context)
            goto = yield from self.execute(verbs, wdoc, context)
            url = goto.url if goto is not None else urljoin(p.doc_url, p.wait_url)
            method = goto.method if goto is not None else p.wait_method
            answer = dict(goto.params) if goto is not None else {}
            if self.now == started:
                yield Sleep(1)  # a document that takes no time would loop without end

    def talk(self, bridge: Bridge) -> Proc:
        """Stay on a bridge until the other side leaves or this party hangs up."""
        self.report.bridged_with.append(bridge.other(self).sid)
        deadline = self.now + self.party.talk
        while not bridge.ended and self.now < deadline:
            yield from self.wait(deadline - self.now)
        if not bridge.ended:
            bridge.end(self, self.now)
            raise PartyHangup("completed", "finished talking")

    def verb_dial(self, v: twiml.Node, doc_url: str, context: str) -> Proc:
        nouns = v.children or [twiml.Node("Number", {}, v.text)]
        action = v.get("action")
        state: dict[str, str] = {"DialCallStatus": "failed"}
        try:
            tag = nouns[0].tag
            if tag == "Conference":
                yield from self.dial_conference(nouns[0], doc_url, state)
            elif tag == "Queue":
                yield from self.dial_queue(nouns[0], v.number("timeout", 30), doc_url, state)
            elif tag == "Number":
                numbers = [n for n in nouns if n.tag == "Number"]
                yield from self.dial_numbers(v, numbers, doc_url, state)
            else:
                self.error(None, f"<Dial><{tag}> is not supported by the simulator", doc_url)
        except (PartyHangup, ApiEnd):
            if action:
                url = urljoin(doc_url, action)
                self.net.spawn_callback(self, url, self.params() | state, v.get("method"), 0.0)
            raise
        if action:
            return Goto(urljoin(doc_url, action), (v.get("method") or "POST").upper(), state)
        return None

    def dial_numbers(
        self, v: twiml.Node, numbers: list[twiml.Node], doc_url: str, state: dict[str, str]
    ) -> Proc:
        ctx = DialAttempt(self, v.number("timeout", 30))
        for n in numbers:
            child = self.net.dial_child(self, n, v.get("callerId") or self.from_, doc_url)
            ctx.children.append(child)
            child.attempt = ctx
        for child in ctx.children:
            self.net.start_leg(child)
        started = self.now
        try:
            while ctx.outcome is None:
                yield from self.wait(3600)
            state["DialCallStatus"] = ctx.outcome
            if ctx.bridge is not None and ctx.winner is not None:
                state.update(DialCallSid=ctx.winner.sid, DialBridged="true")
                started = self.now
                try:
                    yield from self.talk(ctx.bridge)
                finally:
                    state["DialCallDuration"] = str(round(self.now - started))
            else:
                state["DialBridged"] = "false"
                if ctx.winner is not None:
                    state["DialCallSid"] = ctx.winner.sid
        finally:
            if ctx.outcome is None:
                ctx.outcome = "canceled"
            for child in ctx.children:
                if ctx.bridge is not None and child is ctx.winner:
                    ctx.bridge.end(self, self.now)
                elif child.status in {"queued", "initiated", "ringing"}:
                    child.end_now(LegEnd("canceled", "caller left"))
                elif child.status == "in-progress":
                    child.end_now(LegEnd("completed", "caller left"))

    def dial_conference(self, noun: twiml.Node, doc_url: str, state: dict[str, str]) -> Proc:
        room = self.net.room(noun.text)
        p = Participant(
            self,
            noun.flag("startConferenceOnEnter", True),
            noun.flag("endConferenceOnExit"),
            noun.get("waitUrl"),
            (noun.get("waitMethod") or "POST").upper(),
            doc_url,
        )
        room.join(p)
        self.net.check_conference(room)
        deadline = self.now + self.party.talk
        try:
            while not room.ended:
                if not room.started:
                    with self.waiting(), suppress(Preempt):
                        yield from self.wait_music(p, "conference_wait")
                    deadline = self.now + self.party.talk
                    continue
                if room.others(p) and not p.had_company:
                    p.had_company = True
                    deadline = self.now + self.party.talk
                if self.now >= deadline:
                    raise PartyHangup("completed", "left the conference")
                yield from self.wait(deadline - self.now)
        finally:
            room.leave(p)
        state.update(DialCallStatus="answered", ConferenceSid=room.sid)

    def dial_queue(
        self, noun: twiml.Node, timeout: float, doc_url: str, state: dict[str, str]
    ) -> Proc:
        queue = self.net.queue(noun.text)
        deadline = self.now + timeout
        queue.dequeuers.append(self)
        try:
            while not queue.waiters and self.now < deadline:
                yield from self.wait(deadline - self.now)
        finally:
            queue.dequeuers.remove(self)
        if not queue.waiters:
            state["DialCallStatus"] = "no-answer"
            return
        entry = queue.waiters.pop(0)
        queue.total_wait += self.now - entry.joined
        queue.served += 1
        bridge = Bridge(entry.leg, self, self.now)
        entry.bridge, entry.dequeuer = bridge, self
        entry.announce_url = noun.get("url")
        entry.announce_method = (noun.get("method") or "POST").upper()
        entry.leg.poke()
        self.net.mark_connected(entry.leg, self)
        state.update(DialCallStatus="completed", DialCallSid=entry.leg.sid)
        started = self.now
        try:
            yield from self.talk(bridge)
        finally:
            state["DialCallDuration"] = str(round(self.now - started))
            if not bridge.ended:
                bridge.end(self, self.now)

    # -- the life of a leg -----------------------------------------------------------------

    attempt: DialAttempt | None = None

    def ring(self, timeout: float) -> Proc:
        """Ring the party; returns answered, busy or no-answer."""
        wait, outcome = self.party_ring_plan(timeout)
        self.report.rang_at = self.now
        self.net.emit("ringing", self, None)
        yield Sleep(wait)
        return outcome

    def party_ring_plan(self, timeout: float) -> tuple[float, str]:
        plan = getattr(self.party, "ring_plan", None)
        if plan is not None:
            result: tuple[float, str] = plan(timeout)
            return result
        p = self.party
        if getattr(p, "busy", False):
            return 1.0, "busy"
        after = getattr(p, "answer_after", 0.0)
        if after is None or after >= timeout:
            return timeout, "no-answer"
        return after, "answered"

    def main(self) -> Proc:
        """The whole life of the leg, ending with its status callback."""
        final = "completed"
        try:
            if self.direction == "inbound":
                self.report.rang_at = None
                yield from self.run_twiml(self.goto)
            elif self.direction == "outbound-dial":
                final = yield from self._dialled()
            else:
                final = yield from self._outbound()
        except LegEnd as end:
            final = end.status
            if end.status == "completed" and self.report.answered_at is None:
                final = "canceled"
        except Terminated as exc:
            self.error(None, f"call cut: {exc}")
        except (Preempt, LeaveQueue, Redirected) as exc:
            self.error(None, f"simulator: unexpected {type(exc).__name__}")
        self.report.ended_at = self.now
        with self.net.lock:
            self.report.status = final
        self.net.emit("ended", self, final)
        self.net.leg_ended(self)
        yield from self.status_event("completed")

    def _outbound(self) -> Proc:
        self.set_status("initiated")
        yield from self.status_event("initiated")
        yield Sleep(self.net.dial_delay)
        self.set_status("ringing")
        self.net.note_ring(self)
        yield from self.status_event("ringing")
        outcome = yield from self.ring(self.timeout)
        if outcome != "answered":
            return outcome
        self.answer()
        self.net.emit("answered", self, None)
        yield from self.status_event("answered")
        yield from self.run_twiml(self.goto)
        return "completed"

    def _dialled(self) -> Proc:
        ctx = self.attempt
        assert ctx is not None
        self.set_status("ringing")
        self.net.note_ring(self)
        yield from self.status_event("initiated")
        yield from self.status_event("ringing")
        try:
            outcome = yield from self.ring(ctx.timeout)
        except LegEnd as end:
            ctx.lost(self, end.status)
            raise
        if outcome != "answered" or ctx.winner is not None:
            ctx.lost(self, outcome if outcome != "answered" else "canceled")
            return outcome if outcome != "answered" else "canceled"
        # First to pick up wins; the others stop ringing at once.
        ctx.winner = self
        for other in ctx.children:
            if other is not self:
                other.end_now(LegEnd("canceled", "another phone answered"))
        self.answer()
        self.net.emit("answered", self, None)
        yield from self.status_event("answered")
        if self.goto is not None:
            try:
                yield from self.run_twiml(self.goto, "whisper")
            except TwimlEnd:
                ctx.decide("no-answer")
                raise
        bridge = Bridge(ctx.parent, self, self.now)
        ctx.bridge = bridge
        ctx.decide("completed")
        self.net.mark_connected(ctx.parent, self)
        yield from self.talk(bridge)
        return "completed"


class DialAttempt:
    """The phones one <Dial> rings at once, and what became of them."""

    def __init__(self, parent: Leg, timeout: float) -> None:
        self.parent = parent
        self.timeout = timeout
        self.children: list[Leg] = []
        self.winner: Leg | None = None
        self.bridge: Bridge | None = None
        self.outcome: str | None = None
        self.results: dict[str, str] = {}

    def decide(self, outcome: str) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.parent.poke()

    def lost(self, child: Leg, status: str) -> None:
        self.results[child.sid] = status
        if self.winner is None and len(self.results) == len(self.children):
            statuses = set(self.results.values())
            self.decide(statuses.pop() if len(statuses) == 1 else "no-answer")


def _loops(v: twiml.Node) -> int:
    n = int(v.number("loop", 1))
    return 100 if n == 0 else n  # loop="0" repeats until hang-up; cap it


def _failure_code(res: WebhookResult) -> int | None:
    if res.error == "timeout":
        return twiml.TIMEOUT
    if res.error or res.status >= 400 or res.status == 0:
        return twiml.HTTP_RETRIEVAL_FAILURE
    return None


def _describe(res: WebhookResult) -> str:
    if res.error == "timeout":
        return f"No answer within {res.latency_ms / 1000:.1f} s"
    if res.error:
        return res.error
    return f"HTTP {res.status} from the webhook"


__all__ = ["Conference", "Goto", "Leg", "LegEnd"]
