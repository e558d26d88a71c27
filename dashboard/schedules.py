"""On-call pages: who is on call now and next, escalation policies, my shifts, calendar feeds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from dashboard import audit, feeds
from dashboard.security import current_user, login_required, manager_required
from dashboard.web import page_blueprint, sentence
from kernel.config import settings_of
from kernel.db import get_session
from models import utcnow
from models.users import CalendarFeed, User
from routing.config import RoutingConfig
from routing.ical import engineer_ical, schedule_ical
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


def feed_url(secret: str) -> str:
    """The absolute address a calendar app subscribes to."""
    # PUBLIC_BASE_URL, not the request's host: behind a proxy that is the address that works.
    path = url_for("dashboard_schedules.feed", secret=secret)
    return settings_of(current_app).public_base_url + path


def _feed_list(user: User) -> list[CalendarFeed]:
    return feeds.visible_feeds(get_session(), user)


def on_call_context() -> dict[str, Any]:
    """What the on-call card needs: the schedules at this instant, or None with no config."""
    config = _config()
    now = utcnow()
    return {"now": now, "schedules": on_call_now(config, now) if config else None}


@bp.get("/on-call")
@login_required
def on_call(new_feed: str | None = None, new_feed_schedule: str | None = None) -> str:
    """Every schedule: who is on call now, who is next and when; managers' calendar links."""
    user = current_user()
    assert user is not None
    return render_template(
        "dashboard/on_call.html",
        calendar_links=_feed_list(user) if user.is_manager else [],
        new_feed=new_feed,
        new_feed_schedule=new_feed_schedule,
        **on_call_context(),
    )


@bp.post("/on-call/feeds")
@manager_required
def new_schedule_feed() -> str | Response:
    """Make a calendar link for one whole schedule and show it once."""
    user = current_user()
    assert user is not None
    name = request.form.get("schedule", "")
    config = _config()
    if config is None or name not in config.schedules:
        flash("There is no such schedule.", "error")
        return redirect(url_for(".on_call"))
    session = get_session()
    made = feeds.create_schedule_feed(session, user, name)
    audit.record(session, user, "calendar_feed.created", name, feed=made.feed.prefix)
    session.commit()
    return on_call(new_feed=feed_url(made.secret), new_feed_schedule=name)


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
def my_schedule(new_feed: str | None = None) -> str:
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
    mine = [f for f in _feed_list(user) if f.user_id == user.id and f.engineer_id is not None]
    return render_template(
        "dashboard/my_schedule.html",
        engineer=engineer,
        configured=config is not None,
        in_routing=key is not None,
        shifts=shifts,
        now=now,
        days=MY_SCHEDULE_DAYS,
        calendar_links=mine,
        new_feed=new_feed,
    )


@bp.post("/my-schedule/feeds")
@login_required
def new_engineer_feed() -> str | Response:
    """Make a calendar link for one's own shifts and show it once."""
    user = current_user()
    assert user is not None
    session = get_session()
    try:
        made = feeds.create_engineer_feed(session, user)
    except feeds.FeedError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".my_schedule"))
    audit.record(session, user, "calendar_feed.created", user.username, feed=made.feed.prefix)
    session.commit()
    return my_schedule(new_feed=feed_url(made.secret))


@bp.post("/feeds/<int:feed_id>/revoke")
@login_required
def revoke_feed(feed_id: int) -> Response:
    """Revoke a calendar link: one's own, or any for a manager. It stops working at once."""
    user = current_user()
    assert user is not None
    session = get_session()
    try:
        feed = feeds.revoke(session, user, feed_id, utcnow())
    except feeds.FeedError:
        abort(404)
    audit.record(session, user, "calendar_feed.revoked", feed.schedule or "", feed=feed.prefix)
    session.commit()
    flash("Calendar link revoked: calendars using it stop updating.", "ok")
    back = ".on_call" if request.form.get("back") == "on_call" else ".my_schedule"
    return redirect(url_for(back))


@bp.get("/feeds/<secret>.ics")
def feed(secret: str) -> Response:
    """A calendar link's shifts as iCalendar; the secret in the URL stands in for a sign-in."""
    session = get_session()
    now = utcnow()
    found = feeds.live_feed(session, secret, now)
    # Same answer for a wrong, revoked or dead link and an unknown schedule: it reveals nothing.
    config = _config() if found is not None else None
    if found is None or config is None:
        abort(404)
    start, end = now - FEED_PAST, now + FEED_AHEAD
    if found.schedule is not None:
        schedule = config.schedules.get(found.schedule)
        if schedule is None:
            abort(404)
        text = schedule_ical(schedule, config.engineers, start, end, stamp=now)
        name = found.schedule
    else:
        assert found.engineer is not None
        key = key_of_engineer(config, found.engineer.id)
        if key is None:
            abort(404)
        text = engineer_ical(config.engineers[key], config.schedules, start, end, stamp=now)
        name = found.engineer.name
    session.commit()  # last_used_at
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'inline; filename="{_filename(name)}.ics"'},
    )


def _filename(name: str) -> str:
    # A schedule name is free text; keep only what is safe inside a quoted header value.
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "schedule"
