"""On-call pages: who is on call now and next, escalation policies, my shifts, calendar feeds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from dashboard.feeds import feed_token, feed_token_ok
from dashboard.security import current_user, login_required, manager_required
from dashboard.web import page_blueprint
from hotline.app import settings_of
from hotline.db import get_session
from models import utcnow
from routing.config import RoutingConfig
from routing.ical import schedule_ical
from routing.store import load_routing
from routing.summary import (
    describe_policies,
    engineer_shifts,
    key_of_engineer,
    on_call_now,
    product_policies,
)

bp = page_blueprint("dashboard_schedules", __name__, url_prefix="/dashboard")

MY_SCHEDULE_DAYS = 14
FEED_PAST = timedelta(days=7)
FEED_AHEAD = timedelta(days=60)


def _config() -> RoutingConfig | None:
    return load_routing(get_session())


def feed_url(schedule: str) -> str:
    """The absolute, token-bearing address a calendar app subscribes to."""
    # PUBLIC_BASE_URL, not the request's host: behind a proxy that is the address that works.
    path = url_for("dashboard_schedules.feed", name=schedule, token=feed_token(schedule))
    return settings_of(current_app).public_base_url + path


def on_call_context() -> dict[str, Any]:
    """What the on-call card needs: the schedules at this instant, or None with no config."""
    config = _config()
    now = utcnow()
    return {"now": now, "schedules": on_call_now(config, now) if config else None}


@bp.get("/on-call")
@login_required
def on_call() -> str:
    """Every schedule: who is on call now, who is next and when, and its calendar feed."""
    context = on_call_context()
    feeds = {s.name: feed_url(s.name) for s in context["schedules"] or ()}
    return render_template("dashboard/on_call.html", feeds=feeds, **context)


@bp.get("/escalation")
@manager_required
def escalation() -> str:
    """The escalation policies in words, and which products use which."""
    config = _config()
    return render_template(
        "dashboard/escalation.html",
        policies=describe_policies(config) if config else None,
        products=product_policies(config) if config else [],
        default_policy=config.default_policy if config else None,
    )


@bp.get("/my-schedule")
@login_required
def my_schedule() -> str:
    """The signed-in engineer's shifts over the next two weeks, in their own time zone."""
    user = current_user()
    assert user is not None
    engineer = user.engineer
    config = _config()
    now = utcnow()
    key = key_of_engineer(config, engineer.id) if config and engineer else None
    shifts = (
        engineer_shifts(config, key, now, now + timedelta(days=MY_SCHEDULE_DAYS))
        if config and key
        else []
    )
    names = sorted({s.schedule for s in shifts})
    return render_template(
        "dashboard/my_schedule.html",
        engineer=engineer,
        configured=config is not None,
        in_routing=key is not None,
        shifts=shifts,
        now=now,
        days=MY_SCHEDULE_DAYS,
        feeds={name: feed_url(name) for name in names},
    )


@bp.get("/schedules/<name>.ics")
def feed(name: str) -> Response:
    """A schedule's shifts as iCalendar; the URL's token stands in for a sign-in."""
    # Same answer for a wrong token and an unknown schedule: the feed reveals nothing.
    if not feed_token_ok(name, request.args.get("token")):
        abort(404)
    config = _config()
    if config is None or name not in config.schedules:
        abort(404)
    now = utcnow()
    text = schedule_ical(
        config.schedules[name], config.engineers, now - FEED_PAST, now + FEED_AHEAD, stamp=now
    )
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'inline; filename="{_filename(name)}.ics"'},
    )


def _filename(name: str) -> str:
    # A schedule name is free text; keep only what is safe inside a quoted header value.
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "schedule"
