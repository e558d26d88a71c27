"""Missed calls and response figures on the dashboard, from calls placed through the simulator.

Three customers phone in: one is connected to Ana, one severity-1 call nobody accepts, one
severity-2 message. The ticket list, its filters, its CSV, the API and the metrics cards must
all tell the same story, and every metrics card must lead to the tickets behind it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.metrics import compute_metrics
from dashboard.queries import ticket_figures
from dashboard.users import create_token, create_user
from models import (
    Account,
    Call,
    Notification,
    NotificationChannel,
    Task,
    TaskKind,
    TaskState,
    Ticket,
    TicketOutcome,
    utcnow,
)
from models.users import UserRole
from routing.store import load_routing_text
from simulator import Caller, Engineer, Simulator
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.dashboard.openapi_check import OpenApiCheckedClient
from tests.factories import make_customer
from tickets.sla import SlaState

ANA = "+15005550111"
ROUTING = f"""
engineers:
  ana: {{name: Ana Lima, phone: "{ANA}"}}
schedules: {{}}
policies:
  main:
    repeat: 0
    levels:
      - targets: [engineer: ana]
        ring_timeout: 20
default_policy: main
products: {{}}
"""


@pytest.fixture
def calls_made(app: Flask, phone: Simulator, session: Session) -> dict[str, Ticket]:
    """Acme connected to Ana, Globex's severity-1 call missed, Initech's severity-2 message."""
    with app.extensions["sessionmaker"]() as routing_session:
        load_routing_text(routing_session, ROUTING, "test.yaml", datetime.now(UTC))
        routing_session.commit()
    acme = make_customer(app, session, "Acme Corp")
    globex = make_customer(app, session, "Globex")
    initech = make_customer(app, session, "Initech")
    phone.engineers = {ANA: Engineer.accepts(after=4)}
    assert phone.call(Caller(keys=[acme.keys, "1"]), from_="+15557770021").connected_to == ANA
    phone.engineers = {ANA: Engineer.no_answer()}
    assert phone.call(Caller(keys=[globex.keys, "1"]), from_="+15557770022").connected_to is None
    phone.call(Caller(keys=[initech.keys, "2", "2"]), from_="+15557770023")
    session.expire_all()
    tickets = {}
    for name in ("Acme Corp", "Globex", "Initech"):
        account = session.scalars(select(Account).where(Account.name == name)).one()
        tickets[name] = session.scalars(select(Ticket).where(Ticket.account_id == account.id)).one()
    return tickets


@pytest.fixture
def browser(app: Flask, session: Session) -> Browser:
    create_user(session, "maria", "Maria Manager", PASSWORD, UserRole.MANAGER)
    session.commit()
    client = app.test_client()
    assert sign_in(client, "maria").status_code == 302
    return Browser(client)


@pytest.fixture
def api(app: Flask, session: Session) -> tuple[FlaskClient, dict[str, str]]:
    """A client whose every API response is checked against the OpenAPI document."""
    user = create_user(session, "ivan", "Ivan Integrator", PASSWORD, UserRole.MANAGER)
    secret = create_token(session, user, "tests").secret
    session.commit()
    app.test_client_class = OpenApiCheckedClient
    return app.test_client(), {"Authorization": f"Bearer {secret}"}


def listed(browser: Browser, url: str) -> list[str]:
    """The ticket numbers a list page shows, in order."""
    page = browser.get(url)
    assert page.status_code == 200
    return re.findall(r'class="mono">(HL-\d+)</a>', page.get_data(as_text=True))


def test_the_list_shows_who_answered_how_fast_and_which_severity1_calls_were_missed(
    browser: Browser, calls_made: dict[str, Ticket], session: Session
) -> None:
    acme, globex, initech = (calls_made[n] for n in ("Acme Corp", "Globex", "Initech"))
    assert acme.outcome is TicketOutcome.CONNECTED
    assert globex.outcome is TicketOutcome.MISSED
    assert initech.outcome is TicketOutcome.MESSAGE and initech.severity == 2

    page = browser.get("/dashboard/tickets/").get_data(as_text=True)
    rows = {m[0]: m[1] for m in re.findall(r'class="mono">(HL-\d+)</a>(.*?)</tr>', page, re.S)}
    assert "Ana Lima" in rows[acme.number] and "missed severity 1" not in rows[acme.number]
    assert "missed severity 1" in rows[globex.number]
    assert "missed severity 1" not in rows[initech.number]
    [acme_call] = acme.calls
    assert acme_call.seconds_to_connect is not None and acme_call.connected_at is not None
    assert acme_call.seconds_to_first_ring is not None
    assert acme_call.seconds_to_first_ring <= acme_call.seconds_to_connect

    # The missed filter, the answered filter, and an engineer's name as the search.
    assert listed(browser, "/dashboard/tickets/?severity=1&outcome=missed") == [globex.number]
    assert set(listed(browser, "/dashboard/tickets/?answered=no")) == {
        globex.number,
        initech.number,
    }
    assert listed(browser, "/dashboard/tickets/?q=Ana+Lima") == [acme.number]
    assert listed(browser, "/dashboard/tickets/?q=lima") == [acme.number]
    assert "Answered must be yes or no" in browser.get(
        "/dashboard/tickets/?answered=maybe"
    ).get_data(as_text=True)

    # The ticket page shows the call with its own record and the badge.
    shown = browser.get(f"/dashboard/tickets/{globex.id}").get_data(as_text=True)
    assert "missed severity 1" in shown


def test_the_csv_and_the_api_carry_the_same_ticket_figures(
    browser: Browser,
    api: tuple[FlaskClient, dict[str, str]],
    calls_made: dict[str, Ticket],
) -> None:
    acme, globex = calls_made["Acme Corp"], calls_made["Globex"]
    [acme_call] = acme.calls
    [globex_call] = globex.calls

    export = browser.get("/dashboard/tickets/export.csv")
    rows = {
        row["number"]: row for row in csv.DictReader(io.StringIO(export.get_data(as_text=True)))
    }
    assert rows[acme.number]["answered_by"] == "Ana Lima"
    assert rows[acme.number]["calls"] == "1"
    assert rows[acme.number]["seconds_to_connect"] == str(acme_call.seconds_to_connect)
    assert rows[acme.number]["seconds_to_first_ring"] == str(acme_call.seconds_to_first_ring)
    assert rows[globex.number]["answered_by"] == "" and rows[globex.number]["outcome"] == "missed"
    assert rows[globex.number]["seconds_to_first_ring"] == str(globex_call.seconds_to_first_ring)

    client, auth = api
    found = client.get("/api/v1/tickets?severity=1", headers=auth).json
    by_number = {t["number"]: t for t in found["tickets"]}
    assert by_number[acme.number]["answered_by"] == "Ana Lima"
    assert by_number[acme.number]["seconds_to_connect"] == acme_call.seconds_to_connect
    assert by_number[acme.number]["missed"] is False
    assert by_number[globex.number]["missed"] is True
    assert by_number[globex.number]["calls"] == 1
    missed = client.get("/api/v1/tickets?answered=no&severity=1", headers=auth).json
    assert [t["number"] for t in missed["tickets"]] == [globex.number]
    full = client.get(f"/api/v1/tickets/{globex.id}", headers=auth).json
    [record] = full["call_records"]
    assert record["outcome"] == "missed" and record["answered_by"] is None
    assert record["pin_kind"] == "standing"


def test_every_metrics_card_leads_to_the_tickets_behind_it(
    browser: Browser, calls_made: dict[str, Ticket], session: Session
) -> None:
    figures = compute_metrics(session, utcnow(), days=30)
    assert figures.sev1_calls == 2 and figures.sev1_unaccepted == 1
    page = browser.get("/dashboard/metrics").get_data(as_text=True)
    links = dict(re.findall(r'id="link-([\w-]+)" href="([^"]+)"', page))
    assert set(links) >= {"sev1", "sev1-median", "sev1-unaccepted", "refused", "notif-dead"}

    def behind(card: str) -> list[str]:
        return listed(browser, links[card].replace("&amp;", "&"))

    assert sorted(behind("sev1")) == sorted(
        [calls_made["Acme Corp"].number, calls_made["Globex"].number]
    )
    assert len(behind("sev1")) == figures.sev1_calls
    assert behind("sev1-unaccepted") == [calls_made["Globex"].number]
    assert len(behind("sev1-unaccepted")) == figures.sev1_unaccepted
    assert behind("sev1-median") == [calls_made["Acme Corp"].number]
    assert behind("refused") == []
    assert browser.get(links["notif-dead"].replace("&amp;", "&")).status_code == 200


def test_staff_edit_severity_category_and_subject_with_history(
    browser: Browser,
    api: tuple[FlaskClient, dict[str, str]],
    calls_made: dict[str, Ticket],
    session: Session,
) -> None:
    initech = calls_made["Initech"]
    url = f"/dashboard/tickets/{initech.id}"
    form: dict[str, Any] = {
        "severity": "3",
        "category": "performance",
        "subject": "Reports slow since the upgrade",
        "description": initech.description,
    }
    assert browser.post(f"{url}/details", data=form).status_code == 302
    # One bad value changes nothing.
    bad = browser.post(f"{url}/details", data={**form, "severity": "9", "subject": "x"})
    assert bad.status_code == 302
    page = browser.get(url).get_data(as_text=True)
    assert "Severity must be 1, 2, 3 or 4." in page
    session.expire_all()
    ticket = session.get(Ticket, initech.id)
    assert ticket is not None
    assert (ticket.severity, ticket.category) == (3, "performance")
    assert ticket.subject == "Reports slow since the upgrade"
    history = page.split('id="field-history"', 1)[1].split("</ul>", 1)[0]
    assert "severity</strong>: 2 → 3 by <strong>maria</strong>" in history
    assert "category</strong>: phone → performance" in history
    assert "description" not in history  # unchanged fields are not recorded

    client, auth = api
    refused = client.patch(
        f"/api/v1/tickets/{initech.id}/details", json={"category": "gossip"}, headers=auth
    )
    assert refused.status_code == 400
    changed = client.patch(
        f"/api/v1/tickets/{initech.id}/details", json={"severity": 4}, headers=auth
    )
    assert changed.status_code == 200
    body = changed.json
    assert body["severity"] == 4
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in body["field_changes"]] == [
        ("severity", "2", "3", "maria"),
        ("category", "phone", "performance", "maria"),
        ("subject", "Severity 2 from Initech", "Reports slow since the upgrade", "maria"),
        ("severity", "3", "4", "ivan"),
    ]
    calls = session.scalars(select(Call).where(Call.ticket_id == initech.id)).all()
    assert len(calls) == 1


def _rows(page: str) -> dict[str, str]:
    return {m[0]: m[1] for m in re.findall(r'class="mono">(HL-\d+)</a>(.*?)</tr>', page, re.S)}


def test_open_tasks_and_sla_state_follow_the_promises_made_on_the_calls(
    browser: Browser,
    api: tuple[FlaskClient, dict[str, str]],
    calls_made: dict[str, Ticket],
    session: Session,
) -> None:
    acme, globex, initech = (calls_made[n] for n in ("Acme Corp", "Globex", "Initech"))
    # Nobody took Globex's call: a callback is owed. Initech left a message: a response is owed.
    rows = _rows(browser.get("/dashboard/tickets/").get_data(as_text=True))
    assert "sla-on_track" in rows[globex.number] and "sla-on_track" in rows[initech.number]
    assert "Ana Lima" in rows[acme.number] and "sla-" not in rows[acme.number]
    assert listed(browser, "/dashboard/tickets/?sla=none") == [acme.number]
    assert set(listed(browser, "/dashboard/tickets/?sla=on_track")) == {
        globex.number,
        initech.number,
    }
    assert "Sla must be one of" in browser.get("/dashboard/tickets/?sla=soon").get_data(
        as_text=True
    )

    # The callback is not acknowledged by its reminder, then not done by its due time.
    [callback] = session.scalars(select(Task).where(Task.ticket_id == globex.id)).all()
    assert callback.kind is TaskKind.CALLBACK and callback.state is TaskState.OPEN
    reminded = callback.remind_at + timedelta(seconds=1)
    assert ticket_figures(session, [globex.id], reminded)[globex.id].sla.state is SlaState.AT_RISK
    _shift_back(session, globex.id, to_before=callback.remind_at)
    assert listed(browser, "/dashboard/tickets/?sla=at_risk") == [globex.number]
    _shift_back(session, globex.id, to_before=callback.due_at)
    assert listed(browser, "/dashboard/tickets/?sla=breached") == [globex.number]
    shown = browser.get(f"/dashboard/tickets/{globex.id}").get_data(as_text=True)
    assert 'class="badge sla-breached"' in shown

    export = browser.get("/dashboard/tickets/export.csv").get_data(as_text=True)
    csv_rows = {row["number"]: row for row in csv.DictReader(io.StringIO(export))}
    assert csv_rows[globex.number]["open_tasks"] == "1"
    assert csv_rows[globex.number]["sla_state"] == "breached"
    assert csv_rows[acme.number]["assignee"] == "Ana Lima"
    assert (csv_rows[acme.number]["open_tasks"], csv_rows[acme.number]["sla_state"]) == (
        "0",
        "none",
    )
    assert csv_rows[initech.number]["next_due_at"].startswith(
        str(session.scalars(select(Task.due_at).where(Task.ticket_id == initech.id)).one().year)
    )

    client, auth = api
    listed_api = client.get("/api/v1/tickets", headers=auth).json["tickets"]
    by_number = {t["number"]: t for t in listed_api}
    assert by_number[globex.number]["sla_state"] == "breached"
    assert by_number[globex.number]["open_tasks"] == 1
    assert by_number[acme.number]["assignee"] == "Ana Lima"
    assert by_number[initech.number]["sla_state"] == "on_track"
    breached = client.get("/api/v1/tickets?sla=breached", headers=auth).json["tickets"]
    assert [t["number"] for t in breached] == [globex.number]
    full = client.get(f"/api/v1/tickets/{globex.id}", headers=auth).json
    [record] = full["tasks"]
    assert (record["kind"], record["state"]) == ("callback", "open")
    assert record["callback_number"] == "+15557770022"

    # Marked done on the ticket page, the promise is kept (late): nothing left open.
    done = browser.post(
        f"/dashboard/tickets/{globex.id}/tasks/{callback.id}/done", data={"resolution": "Rang them"}
    )
    assert done.status_code == 302
    rows = _rows(browser.get("/dashboard/tickets/?sla=late").get_data(as_text=True))
    assert list(rows) == [globex.number] and "sla-late" in rows[globex.number]


def _shift_back(session: Session, ticket_id: int, to_before: datetime) -> None:
    """Move the ticket's task times back as if the clock had passed `to_before`."""
    step = to_before - utcnow() + timedelta(seconds=1)
    for one in session.scalars(select(Task).where(Task.ticket_id == ticket_id)):
        one.created_at -= step
        one.remind_at -= step
        one.due_at -= step
    session.commit()


def test_a_pending_question_set_through_the_api_reaches_the_customer(
    api: tuple[FlaskClient, dict[str, str]], calls_made: dict[str, Ticket], session: Session
) -> None:
    initech = calls_made["Initech"]
    client, auth = api
    question = "Which version of the agent is installed?"
    answer = client.patch(
        f"/api/v1/tickets/{initech.id}",
        json={"status": "pending", "question": question},
        headers=auth,
    )
    assert answer.status_code == 200 and answer.json["status"] == "pending"
    session.expire_all()
    emails = session.scalars(
        select(Notification).where(
            Notification.ticket_id == initech.id, Notification.channel == NotificationChannel.EMAIL
        )
    ).all()
    assert any(question in (n.body or "") + json.dumps(n.payload) for n in emails)
