"""Every promise the hotline makes becomes a task with timers, driven through the simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from kernel.services import services_of
from models import Engineer as EngineerRow
from models import Task, TaskKind, TaskStage, TaskState, Ticket, TicketStatus, UserRole
from notify import task_alerts
from notify.relay import relay_once
from simulator import Caller, Engineer, Simulator
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.e2e.test_ringing import ANA, BEN, SCHEDULE_THEN_BEN, customer, load, severity1
from tests.factories import Customer, SignedTwilio
from tests.notify.conftest import FAST_ENV, MANAGER_EMAILS, MANAGER_PHONES, drain
from tickets import tasks

__all__ = ["customer"]  # the fixture, re-used from the ringing tests
CONTACT = "+14155550100"  # the technical contact tests.factories gives every account


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    # Fast retries and sweeps, but the production job timeout: these flows never hang a job,
    # and under a load average of 20 the first jobs of a drain (twilio's message resources
    # imported, templates compiled, on two starved cores) overran the 10 s test timeout.
    fast = {key: value for key, value in FAST_ENV.items() if key != "NOTIFY_JOB_TIMEOUT"}
    app_config.update(fast, MANAGER_PHONES=MANAGER_PHONES, MANAGER_EMAILS=MANAGER_EMAILS)
    return app_config


def texts_to(phone: Simulator, number: str) -> list[str]:
    return [m["body"] for m in phone.messages if m["to"] == number]


def the_task(session: Session) -> Task:
    session.expire_all()
    return session.scalars(select(Task)).one()


def relay_at(app: Flask, at: object) -> None:
    """One relay round as if the clock read `at`, then the workers send what it queued."""
    relay_once(services_of(app), at)  # type: ignore[arg-type]
    drain(app)


def test_nobody_accepted_texts_on_call_then_escalates_then_alerts_managers(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    assert task.kind is TaskKind.CALLBACK and task.callback_number is not None
    assert task.due_at - task.created_at == timedelta(minutes=30)
    drain(app)
    (opened,) = [t for t in texts_to(phone, ANA) if "call back within 30 minutes" in t]
    assert f"tel:{task.callback_number}" in opened
    assert f"/dashboard/tickets/{task.ticket_id}" in opened
    before = len(texts_to(phone, BEN))

    # Not acknowledged by the reminder time: Ben (the policy's next level) is texted, once.
    for _ in range(2):
        relay_at(app, task.remind_at + timedelta(seconds=1))
    escalated = [t for t in texts_to(phone, BEN)[before:] if "ESCALATED" in t]
    assert len(escalated) == 1
    assert the_task(session).stage is TaskStage.ESCALATED

    # Past due and not done: every manager phone and email hears of it, once.
    for _ in range(2):
        relay_at(app, task.due_at + timedelta(seconds=1))
    for manager in MANAGER_PHONES.split(","):
        assert len([t for t in texts_to(phone, manager) if "OVERDUE" in t]) == 1
    assert the_task(session).stage is TaskStage.OVERDUE


def test_an_acknowledged_task_does_not_escalate(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    assert tasks.acknowledge_task(session, task, "Ana Lima", task.created_at)
    session.commit()
    drain(app)
    before = len(texts_to(phone, BEN))
    relay_at(app, task.remind_at + timedelta(seconds=1))
    assert texts_to(phone, BEN)[before:] == []
    assert tasks.finish_task(session, task, "Ana Lima", "called back", task.created_at)
    session.commit()
    relay_at(app, task.due_at + timedelta(seconds=1))
    assert not any("OVERDUE" in m["body"] for m in phone.messages)


def test_hanging_up_while_engineers_ring_makes_a_callback_task(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(Caller(keys=[customer.keys, "1"], hangup_after=25))
    task = the_task(session)
    assert task.kind is TaskKind.CALLBACK and task.state is TaskState.OPEN
    drain(app)
    assert any("call back within 30 minutes" in t for t in texts_to(phone, ANA))


def test_a_severity_2_message_texts_the_on_call_engineer_with_the_target(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.call(Caller(keys=[customer.keys, "2", "2"]))
    task = the_task(session)
    assert task.kind is TaskKind.RESPOND
    assert task.due_at - task.created_at == timedelta(minutes=240)
    drain(app)
    assert any("respond to a severity-2 message" in t for t in texts_to(phone, ANA))


def test_the_engineer_who_accepts_owns_the_acknowledged_ticket(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.accepts(after=3)}
    phone.call(severity1(customer))
    session.expire_all()
    ticket = session.scalars(select(Ticket)).one()
    assert ticket.status is TicketStatus.ACKNOWLEDGED
    assert ticket.assignee_name == "Ana Lima"


def test_a_timer_killed_before_its_commit_fires_once_after_the_restart(
    app: Flask, phone: Simulator, customer: Customer, session: Session
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    at = task.remind_at + timedelta(seconds=1)
    settings = services_of(app).settings
    # A relay that dies mid-timer: the stage moved and the texts queued, never committed.
    with app.extensions["sessionmaker"]() as dying:
        assert task_alerts.fire_due(dying, at, settings) == 1
        dying.rollback()
    # The restarted relay, and a second one racing it, fire the timer once between them.
    with app.extensions["sessionmaker"]() as one, app.extensions["sessionmaker"]() as two:
        fired = task_alerts.fire_due(one, at, settings)
        one.commit()
        fired += task_alerts.fire_due(two, at, settings)
        two.commit()
    assert fired == 1
    relay_at(app, at)
    assert len([t for t in texts_to(phone, BEN) if "ESCALATED" in t]) == 1


def signed_in_engineer(client: FlaskClient, session: Session, phone_number: str) -> Browser:
    """Ana's dashboard login, linked to her Engineer row (made by the routing configuration)."""
    engineer = session.scalars(select(EngineerRow).where(EngineerRow.phone == phone_number)).one()
    create_user(session, "ana", "Ana Lima", PASSWORD, UserRole.ENGINEER, engineer.id)
    session.commit()
    assert sign_in(client, "ana").status_code == 302
    return Browser(client)


def test_call_back_from_the_dashboard_rings_the_engineer_then_bridges_the_customer(
    app: Flask, phone: Simulator, customer: Customer, session: Session, client: FlaskClient
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    assert task.callback_number is not None
    browser = signed_in_engineer(client, session, ANA)
    phone.engineers = {ANA: Engineer.accepts(after=2), task.callback_number: Engineer.accepts()}
    url = f"/dashboard/tickets/{task.ticket_id}/tasks/{task.id}/callback"
    assert browser.post(url).status_code == 302
    phone.run()
    legs = [leg for leg in phone.legs.values() if leg.direction == "outbound-api"]
    assert ANA in [leg.to for leg in legs]
    done = the_task(session)
    assert done.state is TaskState.DONE and done.callback_attempts == 1
    assert done.resolution is not None and "called back" in done.resolution
    assert done.acknowledged_by == "ana"


def test_a_callback_nobody_answers_leaves_the_task_open(
    app: Flask, phone: Simulator, customer: Customer, session: Session, client: FlaskClient
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    assert task.callback_number is not None
    browser = signed_in_engineer(client, session, ANA)
    phone.engineers = {ANA: Engineer.accepts(after=2), task.callback_number: Engineer.no_answer()}
    browser.post(f"/dashboard/tickets/{task.ticket_id}/tasks/{task.id}/callback")
    phone.run()
    still = the_task(session)
    assert still.state is TaskState.ACKNOWLEDGED and still.callback_attempts == 1


def test_a_signed_request_for_a_callback_nobody_placed_closes_nothing(
    app: Flask, phone: Simulator, customer: Customer, session: Session, client: FlaskClient
) -> None:
    load(app, SCHEDULE_THEN_BEN)
    phone.engineers = {ANA: Engineer.no_answer(), BEN: Engineer.no_answer()}
    phone.call(severity1(customer))
    task = the_task(session)
    forger = SignedTwilio(client)
    for path in (f"/ivr/callback?task={task.id}", f"/ivr/callback-done?task={task.id}"):
        response = forger.post(path, DialCallStatus="completed")
        assert response.status_code == 200 and b"<Dial" not in response.data
    assert the_task(session).state is TaskState.OPEN
