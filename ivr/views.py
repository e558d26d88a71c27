"""Twilio voice webhooks: read the signed form, run one flow step, answer with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, current_app, g, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from entitlement.policy import PinPolicy
from ivr import degraded, flow, prompts, states, twiml
from ivr.dialer import dialer_of
from ivr.engineer_flow import HOLD_PAUSE_SECONDS
from ivr.languages import catalogue
from ivr.prompts import ENGLISH, Prompts
from ivr.states import Webhook
from ivr.steps import Goodbye, Restart, Step, Text, Then, Unchanged
from kernel import journal
from kernel import twilio_fields as fields
from kernel.breaker import current_breaker, is_unreachable
from kernel.config import settings_of
from kernel.db import get_session
from kernel.signatures import signed_form, twilio_signed
from models import Call, CallState
from routing.numbers import language_without_database
from routing.ringing import Progress
from tickets import events
from tickets.calls import (
    events_of,
    find_call,
    lock_and_read,
    lock_step,
    new_call,
    open_call,
    record_event,
    save_new_call,
)

bp = Blueprint("ivr", __name__, url_prefix="/ivr")
log = logging.getLogger(__name__)

CallerStep = Callable[[Session, Call, datetime], Step | Then | Unchanged]


def _now() -> datetime:
    """Now, or for a webhook replayed from the journal the time Twilio first sent it."""
    at: datetime | None = g.get("replayed_at")
    return at or datetime.now(UTC)


@bp.before_request
def _replay_time() -> None:
    signature = request.headers.get("X-Twilio-Signature", "")
    key = settings_of(current_app).secret_key
    g.replayed_at = journal.replayed_at(request.headers.get(journal.REPLAY_HEADER), signature, key)


def replaying() -> bool:
    """True for a webhook the worker replays from the journal."""
    return g.get("replayed_at") is not None


def journal_of_app() -> journal.Journal:
    """The journal of this app's data directory."""
    return journal.Journal(settings_of(current_app).data_dir / "journal")


def keep_in_journal() -> bool:
    """Write this webhook to the journal for the worker to apply later; False if even that failed.

    A replayed request is never journaled again: its failure tells the replayer to wait.
    """
    if replaying():
        return False
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    try:
        journal_of_app().append(journal.entry_of(path, signed_form(), signature, _now()))
    except OSError:
        log.exception("could not journal %s; Twilio's retry is its last chance", request.path)
        return False
    log.warning("database unreachable: journaled %s for replay", request.path)
    return True


def _url(endpoint: str, **params: Any) -> str:
    """An absolute URL under PUBLIC_BASE_URL, so Twilio signs what we validate."""
    return settings_of(current_app).public_base_url + url_for(endpoint, **params)


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


def _render(step: Step, turn: int | None = None, p: Prompts = ENGLISH) -> str:
    """TwiML for `step`; the caller's prompts carry `turn`, so only their answer counts once."""

    # Most answers are the same document for every caller (the greeting at turn 0 above all):
    # made once per process, not built as a tree and serialised on every request.
    cache: dict[tuple[Step, int | None, Prompts], str] = current_app.extensions.setdefault(
        "twiml_cache", {}
    )
    key = (step, turn, p)
    document = cache.get(key)
    if document is not None:
        return document

    def url(endpoint: str, **params: Any) -> str:
        return _url(endpoint, **params) if turn is None else _url(endpoint, turn=turn, **params)

    document = twiml.render(step, url, settings_of(current_app).pin_length, p)
    if len(cache) >= TWIML_CACHE_SIZE:
        cache.clear()  # per-call answers (hold turns) would otherwise pile up
    cache[key] = document
    return document


TWIML_CACHE_SIZE = 2048


def split(result: Step | Then) -> tuple[Step, Progress]:
    """The step to answer with, and the ringing work to do once it is committed."""
    if isinstance(result, Then):
        return result.step, result.progress
    return result, Progress()


def carry_out(progress: Progress, call_id: int, texts: tuple[Text, ...] = ()) -> None:
    """Hand committed ringing work and texts to the dialer (REST calls never hold up a webhook)."""
    if progress.place or progress.cancel or progress.exhausted:
        dialer_of(current_app).carry_out(progress, call_id)
    for text in texts:
        dialer_of(current_app).send_text(text.to, text.body)


def spoken_url(url: str) -> str:
    """A URL as a caller can copy it down: no scheme, no trailing slash."""
    return url.split("://", 1)[-1].rstrip("/")


def _config() -> flow.FlowConfig:
    """The flow's settings, made once per settings object (a PIN policy parses a region)."""
    settings = settings_of(current_app)
    last_known = current_app.extensions["last_known"]
    made: tuple[object, object, flow.FlowConfig] | None = current_app.extensions.get("flow_config")
    if made is not None and made[0] is settings and made[1] is last_known:
        return made[2]
    config = flow.FlowConfig(
        pin_policy=PinPolicy.from_settings(settings),
        oncall_number=settings.oncall_number,
        emergency_number=settings.emergency_number,
        account_management_number=settings.account_management_number,
        customer_portal=spoken_url(settings.customer_portal_url),
        last_known=last_known,
        severity_targets=dict(settings.severity_target_minutes),
        callback_minutes=settings.callback_due_minutes,
    )
    current_app.extensions["flow_config"] = (settings, last_known, config)
    return config


def _entitled(call_sid: str) -> bool | None:
    """Whether the call was found entitled; None when its state cannot be read."""
    try:
        current_breaker().check()
        with current_app.extensions["sessionmaker"]() as session:
            entitled_at = session.scalar(select(Call.entitled_at).where(Call.call_sid == call_sid))
    except Exception:
        return None
    return entitled_at is not None


def degraded_prompts() -> Prompts:
    """The caller's prompts when the database may be down: the language of the number called,
    from the routing configuration this process holds in memory (no query)."""
    try:
        called = fields.phone_number(signed_form().get("To"))
        return catalogue(language_without_database(current_app.extensions["engine"], called))
    except Exception:
        # On the path that answers a failure: English rather than a second failure.
        log.exception("degraded mode: the number's language could not be read")
        return ENGLISH


def put_through(index: int = 0, say: str | None = None) -> Response:
    """Degraded mode for a severity-1 caller: the last-known engineers, then EMERGENCY_NUMBER."""
    emergency = settings_of(current_app).emergency_number
    phones = current_app.extensions["last_known"].recall()
    p = degraded_prompts()
    say = p.DEGRADED_CONNECTING if say is None else say
    return _xml(degraded.put_through(phones, index, emergency, _url, say, p))


def _known_severity1(webhook: Webhook) -> bool:
    """True when the failed request itself proves an entitled caller who wants an engineer.

    Only a call that passed its PIN and entitlement is ever handed the severity prompt, and
    only a ringing call is ever queued, so these signed requests need no database to trust.
    """
    if webhook is Webhook.SEVERITY:
        return (_keys() or "")[:1] == "1"
    return webhook in (Webhook.QUEUE_DONE, Webhook.NO_ENGINEER)


def _trouble(webhook: Webhook, call_sid: str, exc: BaseException) -> Response:
    """The answer when a caller's step failed: carry on without the database if it is down."""
    if replaying():
        return Response(status=503)
    if webhook is Webhook.HOLD:
        return _hold_trouble()
    if webhook is Webhook.VOICE and is_unreachable(exc):
        keep_in_journal()  # the call's ticket appears when the database is back
    unreachable = is_unreachable(exc)
    if unreachable and _known_severity1(webhook):
        return put_through()
    entitled = None if unreachable else _entitled(call_sid)
    if entitled is None:
        degraded_alert()
        return _xml(degraded.ask_severity(_url, degraded_prompts()))
    emergency = settings_of(current_app).emergency_number
    connect = bool(emergency) and entitled
    return _xml(twiml.fallback(emergency, False, _url, connect=connect, p=degraded_prompts()))


# A caller held this long while the database is away leaves the queue to be put through.
HOLD_GIVE_UP_SECONDS = 60


def _hold_trouble() -> Response:
    """A hold-loop turn that failed: silence, never a failure message, to a queued caller."""
    waited = fields.seconds(signed_form().get("QueueTime"))
    if waited >= HOLD_GIVE_UP_SECONDS and current_breaker().is_open():
        return _xml(degraded.leave_queue())
    return _xml(degraded.keep_holding(HOLD_PAUSE_SECONDS))


def degraded_alert() -> None:
    """Tell the managers, without the database, that callers are in degraded mode."""
    dialer_of(current_app).alert_managers(prompts.DEGRADED_MANAGER_ALERT)


def _token() -> str | None:
    return request.headers.get("I-Twilio-Idempotency-Token") or None


def _voice(session: Session, call_sid: str) -> Response:
    """The first webhook opens the call; on a known call it only says where the call stands."""
    form = signed_form()
    now = _now()
    caller, called = fields.phone_number(form.get("From")), fields.phone_number(form.get("To"))
    # Written first, looked up only if it exists: a new call is the common case.
    call = new_call(session, call_sid, caller, called, now)
    # The greeting reads the number's language: no flush before the insert that may conflict.
    with session.no_autoflush:
        document = _render(flow.start(session, call, now), call.turn, flow.prompts_of(call))
    call.last_webhook_token = _token()
    call.last_reply = document
    if save_new_call(session, call, now):
        session.commit()
        return _xml(document)
    known = find_call(session, call_sid)
    if known is None:
        raise LookupError(f"call {call_sid} neither new nor known")
    retried = _token() and known.last_webhook_token == _token() and known.ended_at is None
    stored = known.last_reply if retried else None
    document = stored or _render(
        states.safe_step(session, known, Webhook.VOICE), known.turn, flow.prompts_of(known)
    )
    session.rollback()
    return _xml(document)


def _caller_webhook(
    webhook: Webhook, run: CallerStep | None, turn_arg: str | None = None
) -> Response:
    """Run one step of the caller's call if its state accepts it: once, committed, never a 500.

    `run` is None when the request's fields are unusable: then, as for a state the webhook
    does not accept, nothing changes and the answer repeats where the call stands.
    `turn_arg` is the `turn` of the URL the step was asked on (the fallback passes ErrorUrl's).
    """
    call_sid = fields.call_sid(signed_form().get("CallSid"))
    session = get_session()
    try:
        if not call_sid:
            return _xml(_render(Goodbye("")))
        current_breaker().check()
        if webhook is Webhook.VOICE:
            return _voice(session, call_sid)
        turn: int | None = None
        turn_ok = True
        if webhook in states.TURN_CHECKED:
            turn = fields.counter(turn_arg)
            turn_ok = turn is not None
            turn = turn or 0
        # The conditional UPDATE first: it is the check, the lock, and the turn; then the read.
        can_run = run is not None and turn_ok
        accepts = states.ACCEPTS[webhook]
        locked_call = lock_step(session, call_sid, accepts, turn) if can_run else None
        locked = locked_call is not None
        call = locked_call or find_call(session, call_sid)
        if call is None:
            session.rollback()
            return _xml(_render(Restart()))
        retried = _token() and call.last_webhook_token == _token() and call.ended_at is None
        if retried and call.last_reply is not None:
            # Twilio retried a webhook we already answered: same answer, no second effect.
            stored = call.last_reply
            session.rollback()
            return _xml(stored)
        if not locked or run is None:
            p = flow.prompts_of(call)
            document = _render(states.safe_step(session, call, webhook), call.turn, p)
            session.rollback()
            return _xml(document)
        # Writes are flushed once at commit, not before each read the step makes.
        with session.no_autoflush:
            result = run(session, call, _now())
            if isinstance(result, Unchanged):
                document = _render(result.step, call.turn - 1, flow.prompts_of(call))
                session.rollback()
                return _xml(document)
            step, progress = split(result)
            texts = result.texts if isinstance(result, Then) else ()
            # Read after the step: the caller may just have chosen another language.
            document = _render(step, call.turn, flow.prompts_of(call))
        call.last_webhook_token = _token()
        call.last_reply = document
        session.commit()
        carry_out(progress, call.id, texts)
        return _xml(document)
    except Exception as exc:
        session.rollback()
        log.exception("voice webhook %s failed for CallSid %s", request.path, call_sid or "-")
        # The caller must never hear "an application error": carry on, reach a human, or
        # keep a message; a queued caller only ever hears the hold loop go on.
        return _trouble(webhook, call_sid, exc)


@bp.post("/voice")
@twilio_signed
def voice() -> ResponseReturnValue:
    """A call comes in: open its ticket, greet, ask for the PIN."""
    return _caller_webhook(Webhook.VOICE, None)


def _keys() -> str | None:
    return fields.digits(signed_form().get("Digits"))


def _on_pin(turn: str | None) -> Response:
    keys, config = _keys(), _config()
    if keys is None:
        return _caller_webhook(Webhook.PIN, None, turn)
    return _caller_webhook(
        Webhook.PIN, lambda s, call, now: flow.on_pin(s, call, keys, now, config), turn
    )


def _on_product(turn: str | None) -> Response:
    keys = _keys()
    if keys is None:
        return _caller_webhook(Webhook.PRODUCT, None, turn)
    return _caller_webhook(
        Webhook.PRODUCT, lambda s, call, now: flow.on_product(s, call, keys, now), turn
    )


def _on_severity(turn: str | None) -> Response:
    keys, config = _keys(), _config()
    if keys is None:
        return _caller_webhook(Webhook.SEVERITY, None, turn)
    return _caller_webhook(
        Webhook.SEVERITY, lambda s, call, now: flow.on_severity(s, call, keys, now, config), turn
    )


def _on_recorded(turn: str | None) -> Response:
    form = signed_form()
    url = fields.recording_url(
        form.get("RecordingUrl"), settings_of(current_app).twilio_api_base_url
    )
    seconds = fields.seconds(form.get("RecordingDuration"))
    return _caller_webhook(
        Webhook.RECORDED, lambda s, call, now: flow.on_recorded(s, call, url, seconds, now), turn
    )


@bp.post("/pin")
@twilio_signed
def pin() -> ResponseReturnValue:
    """The caller typed a PIN (or nothing)."""
    return _on_pin(request.args.get("turn"))


@bp.post("/product")
@twilio_signed
def product() -> ResponseReturnValue:
    """The caller chose a product from the menu (or nothing)."""
    return _on_product(request.args.get("turn"))


@bp.post("/severity")
@twilio_signed
def severity() -> ResponseReturnValue:
    """The caller said whether service is completely down."""
    return _on_severity(request.args.get("turn"))


@bp.post("/recorded")
@twilio_signed
def recorded() -> ResponseReturnValue:
    """The caller finished a message (or left none)."""
    return _on_recorded(request.args.get("turn"))


def _callback(run: CallerStep, *conditions: Any) -> ResponseReturnValue:
    """An asynchronous callback about a known call: record it once, answer 204, lose nothing.

    When the database can't take it, it goes to the journal (204: it is safe with us); only
    when even that fails is the answer 503, so that Twilio's retries (#rc) try again.
    """
    session = get_session()
    call_sid = fields.call_sid(signed_form().get("CallSid"))
    try:
        current_breaker().check()
        # Callbacks take the call's lock but no turn: they must not outdate the caller's prompt.
        call = lock_and_read(session, call_sid, *conditions, take_turn=False) if call_sid else None
        if call is None:
            session.rollback()
            return Response(status=204)
        result = run(session, call, _now())
        _step, progress = split(result.step if isinstance(result, Unchanged) else result)
        session.commit()
        carry_out(progress, call.id)
    except Exception as exc:
        session.rollback()
        log.exception("callback %s failed for CallSid %s", request.path, call_sid or "-")
        return callback_trouble(exc)
    return Response(status=204)


def callback_trouble(exc: BaseException) -> Response:
    """A callback that failed: journaled (204) when the database is away, else 503."""
    if is_unreachable(exc) and keep_in_journal():
        return Response(status=204)
    return Response(status=503)


@bp.post("/transcription")
@twilio_signed
def transcription() -> ResponseReturnValue:
    """Twilio finished transcribing the caller's message."""
    form = signed_form()
    text = fields.free_text(form.get("TranscriptionText"))
    status = fields.transcription_status(form.get("TranscriptionStatus"))
    return _callback(lambda s, call, now: flow.on_transcription(s, call, text, status, now))


@bp.post("/recording-status")
@twilio_signed
def recording_status() -> ResponseReturnValue:
    """Twilio stored the recording: keep its URL on the timeline."""
    form = signed_form()
    url = fields.recording_url(
        form.get("RecordingUrl"), settings_of(current_app).twilio_api_base_url
    )
    status = fields.free_text(form.get("RecordingStatus"), 32)
    return _callback(lambda s, call, now: flow.on_recording_status(s, call, url, status, now))


@bp.post("/status")
@twilio_signed
def status() -> ResponseReturnValue:
    """The call's status callback: durations, and abandoned tickets."""
    form = signed_form()
    state = fields.call_status(form.get("CallStatus"))
    raw_duration = form.get("CallDuration")
    duration = fields.seconds(raw_duration) if raw_duration else None
    if not state.final:
        return Response(status=204)
    return _callback(
        lambda s, call, now: flow.on_status(s, call, state, duration, now),
        Call.ended_at.is_(None),
    )


RESUMABLE: dict[str, tuple[Webhook, Callable[[str | None], Response]]] = {
    "ivr.pin": (Webhook.PIN, _on_pin),
    "ivr.product": (Webhook.PRODUCT, _on_product),
    "ivr.severity": (Webhook.SEVERITY, _on_severity),
    "ivr.recorded": (Webhook.RECORDED, _on_recorded),
}


def _failed_step(error_url: str | None) -> tuple[str, str | None]:
    """The endpoint of the request that failed (from ErrorUrl) and the turn its URL carried."""
    if not error_url:
        return "", None
    parts = urlsplit(error_url)
    turn = parse_qs(parts.query).get("turn", [None])[0]
    for endpoint in (*RESUMABLE, "ivr.voice", "ivr.queue_done", "ivr.no_engineer"):
        if parts.path == url_for(endpoint):
            return endpoint, turn
    return "", turn


@bp.post("/fallback")
@twilio_signed
def fallback() -> ResponseReturnValue:
    """Twilio's fallback URL: carry on from the call's state, as the primary would have."""
    form = signed_form()
    call_sid = fields.call_sid(form.get("CallSid"))
    if request.args.get("recorded") == "1":
        return _fallback_voicemail(call_sid)
    log.error(
        "fallback URL used for CallSid %s: ErrorCode %s",
        call_sid or "-",
        fields.counter(form.get("ErrorCode")) or "-",
    )
    endpoint, turn = _failed_step(form.get("ErrorUrl"))
    if replaying():
        # Replayed from the journal long after the call: only open its ticket, never ring.
        return _caller_webhook(Webhook.VOICE, None)
    if endpoint in RESUMABLE:
        # The same step again: its lock, state and turn make it run once, whoever ran first.
        return RESUMABLE[endpoint][1](turn)
    if endpoint == "ivr.queue_done":
        # The queue's action: the caller is no longer held; resume from the state below.
        return _caller_webhook(Webhook.VOICE, None)
    if endpoint == "ivr.no_engineer":
        return _caller_webhook(Webhook.NO_ENGINEER, None)
    # The Voice URL, or anything else: open the call if it is new, else its current question.
    return _caller_webhook(Webhook.VOICE, None)


def _fallback_voicemail(call_sid: str) -> Response:
    """A message recorded in degraded mode: on the call's ticket now, or via the journal."""
    form = signed_form()
    url = fields.recording_url(
        form.get("RecordingUrl"), settings_of(current_app).twilio_api_base_url
    )
    seconds = fields.seconds(form.get("RecordingDuration"))
    session = get_session()
    try:
        current_breaker().check()
        if call_sid:
            keep_voicemail(session, call_sid, url, seconds)
            session.commit()
    except Exception as exc:
        session.rollback()
        log.exception("fallback voicemail for CallSid %s not stored", call_sid or "-")
        if replaying():
            return Response(status=503)
        if not (is_unreachable(exc) and keep_in_journal()):
            log.error("fallback voicemail lost for CallSid %s: %s", call_sid or "-", url or "-")
    return _xml(twiml.fallback(None, True, _url, connect=False, p=degraded_prompts()))


def keep_voicemail(session: Session, call_sid: str, url: str, seconds: int) -> None:
    """The degraded-mode message becomes the call's ticket's recording (once per URL)."""
    form = signed_form()
    now = _now()
    caller, called = fields.phone_number(form.get("From")), fields.phone_number(form.get("To"))
    call = open_call(session, call_sid, caller, called, now)
    if not url:
        return
    if any(r.url == url for r in events_of(session, call, events.Recording)):
        return
    record_event(session, call, events.Recording(url=url, seconds=seconds, degraded=True), now)
    flow.keep_message(call, now)
    if call.state is not CallState.ENDED:
        call.state = CallState.FINISHED
