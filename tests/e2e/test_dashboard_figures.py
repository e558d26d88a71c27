"""The dashboard's figures read from calls placed through the phone simulator."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.metrics import compute_metrics
from dashboard.timeline import build_timeline, format_seconds
from models import Call, CallEvent, Ticket, TicketOutcome, utcnow
from simulator import Caller, Engineer, Simulator
from tests.e2e.conftest import ONCALL
from tests.ivr.conftest import make_customer
from tickets.events import EventKind

MESSAGE = (
    "Our whole payments cluster went down at nine, every node refuses connections, "
    "and the failover did not start. Please call me back as soon as you can."
)


def test_the_timeline_shows_how_long_the_voicemail_is(
    app: Flask, phone: Simulator, session: Session
) -> None:
    customer = make_customer(app, session)
    call = phone.call(Caller(keys=[customer.keys, "2"], message=MESSAGE))
    assert not call.failed, call.errors
    [recording] = call.recordings
    assert recording.duration > 0
    session.expire_all()
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.outcome is TicketOutcome.MESSAGE
    timeline = build_timeline(ticket)
    [voicemail] = [e for e in timeline.entries if e.kind == EventKind.RECORDING.value]
    # The length Twilio reported for the recording, never "—".
    assert voicemail.summary == format_seconds(recording.duration)
    assert timeline.recordings == [recording.url]


def test_the_connected_figure_counts_the_calls_an_engineer_accepted(
    app: Flask, phone: Simulator, session: Session
) -> None:
    acme = make_customer(app, session, "Acme Corp")
    globex = make_customer(app, session, "Globex")
    phone.engineers = {ONCALL: Engineer.accepts(after=4)}
    assert phone.call(Caller(keys=[acme.keys, "1"])).connected_to == ONCALL
    phone.engineers = {ONCALL: Engineer.no_answer()}
    assert phone.call(Caller(keys=[globex.keys, "1"])).connected_to is None
    session.expire_all()
    metrics = compute_metrics(session, utcnow(), days=7)
    assert metrics.sev1_calls == 2
    assert metrics.sev1_unaccepted == 1 and metrics.sev1_unaccepted_share == 0.5
    # The wait is from the caller's first ring to the engineer pressing 1.
    accepted = session.scalars(
        select(CallEvent).where(CallEvent.kind == EventKind.ACCEPTED.value)
    ).one()
    started = session.scalars(select(Call.started_at).where(Call.ticket_id == accepted.ticket_id))
    wait = (accepted.at - min(started)).total_seconds()
    assert wait > 0
    assert metrics.sev1_connect_median == wait
