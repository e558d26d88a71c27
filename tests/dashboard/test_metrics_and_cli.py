"""The metrics figures, the metrics page, and the `hotline users` commands."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.metrics import compute_metrics, percentile
from directory import create_account
from entitlement.pins import issue_pin
from entitlement.policy import PinPolicy
from ivr import flow
from kernel.config import settings_of
from kernel.twilio_fields import CallStatus
from models import (
    Notification,
    NotificationChannel,
    NotificationStatus,
    PinKind,
    Ticket,
    utcnow,
)
from models.users import AuditEntry, User
from tests.dashboard.conftest import (
    T0,
    Browser,
    deliver_follow_ups,
    flow_config,
    seed_call_ticket,
)
from tickets.calls import open_call


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


def refused_call(app: Flask, session: Session, start: datetime) -> Ticket:
    """A caller whose account holds no support licence, refused by the call flow."""
    with app.app_context():
        account = create_account(session, "Globex", ["router"])
        policy = PinPolicy.from_settings(settings_of(app))
        keys = issue_pin(session, account, PinKind.STANDING, start, policy).keypad_entry
        call = open_call(session, "CA" + "f" * 32, "+15557654321", "+15005550006", start)
        flow.on_pin(session, call, keys, start, flow_config(app))
        flow.on_status(session, call, CallStatus.COMPLETED, 40, start + timedelta(seconds=40))
        deliver_follow_ups(session, call.ticket)
        session.commit()
        return call.ticket


def test_metrics_figures(app: Flask, session: Session) -> None:
    seed_call_ticket(app, session)  # sev 1, the engineer accepted 32 s after the call started
    seed_call_ticket(app, session, T0 + timedelta(hours=1), accepted=False)  # hung up, ringing
    refused = refused_call(app, session, T0 + timedelta(hours=2))
    session.add_all(
        [
            Notification(
                kind="x",
                channel=NotificationChannel.SMS,
                recipient="+1",
                status=NotificationStatus.DEAD,
                created_at=T0,
            ),
            Notification(
                kind="y",
                channel=NotificationChannel.SMS,
                recipient="+1",
                status=NotificationStatus.SENT,
                created_at=T0,
                sent_at=T0 + timedelta(minutes=9),
            ),
        ]
    )
    session.commit()
    m = compute_metrics(session, T0 + timedelta(days=1), days=7)
    assert m.sev1_calls == 2
    assert m.sev1_connect_median == 32.0
    assert m.sev1_unaccepted == 1 and m.sev1_unaccepted_share == 0.5
    assert refused.refusal_reason
    assert m.refused_by_reason == [(refused.refusal_reason, 1)]
    # Each severity-1 caller typed one wrong PIN first.
    assert m.pin_failures == [("unknown", 2)]
    assert m.notifications_dead == 1
    # The calls' follow-ups went out within seconds; the 9-minute one is late.
    assert m.notifications_late == 1
    assert sum(n for _, n in m.calls_per_day) == 3


def test_the_metrics_page_draws_charts(as_manager: Browser, call_ticket: Any) -> None:
    html = as_manager.get("/dashboard/metrics?days=7").data.decode()
    assert html.count('<rect class="hit"') == 7
    assert 'id="sev1-calls"' in html


def test_every_chart_bar_links_to_that_days_tickets(
    as_manager: Browser, app: Any, session: Any
) -> None:
    ticket = seed_call_ticket(app, session, utcnow() - timedelta(hours=1))
    html = as_manager.get("/dashboard/metrics?days=7").data.decode()
    links = re.findall(r'<a href="(/dashboard/tickets/\?[^"]+)" aria-label="([^"]+)"', html)
    assert len(links) == 7
    day = ticket.created_at.date().isoformat()
    href, label = next((h, lab) for h, lab in links if f"from={day}" in h)
    assert f"to={day}" in href.replace("&amp;", "&") and "1 call, show the tickets" in label
    listed = as_manager.get(href.replace("&amp;", "&")).data.decode()
    assert ticket.number in listed


def test_users_create_makes_the_first_manager(runner: Any, session: Session) -> None:
    result = runner.invoke(
        "users", "create", "boss", "--name", "The Boss", "--password", "a long password"
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "boss"))
    assert user is not None and user.is_manager and "a long password" not in user.password_hash
    assert session.scalar(select(AuditEntry.action)) == "user.created"
    listed = runner.invoke("users", "list", "--json")
    assert '"boss"' in listed.output


def test_users_create_refuses_weak_passwords_and_duplicates(runner: Any) -> None:
    weak = runner.invoke("users", "create", "boss", "--password", "short")
    assert weak.exit_code != 0 and "at least 10" in weak.output
    runner.invoke("users", "create", "boss", "--password", "a long password")
    again = runner.invoke("users", "create", "boss", "--password", "a long password")
    assert again.exit_code != 0 and "already exists" in again.output


def test_users_set_password(runner: Any, session: Session) -> None:
    runner.invoke("users", "create", "boss", "--password", "a long password")
    result = runner.invoke("users", "set-password", "boss", "--password", "another long one")
    assert result.exit_code == 0, result.output
    missing = runner.invoke("users", "set-password", "nobody", "--password", "another long one")
    assert missing.exit_code != 0
