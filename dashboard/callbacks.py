"""The "Call back" button: ring the engineer's phone through Twilio, then bridge the customer."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, url_for
from twilio.base.exceptions import TwilioRestException
from werkzeug.wrappers import Response

from dashboard.security import current_user, login_required
from dashboard.tickets import bp
from kernel.config import settings_of
from kernel.db import get_session
from kernel.twilio_client import rest_client
from models import Engineer, Task, TaskState, utcnow
from tickets import tasks

log = logging.getLogger(__name__)


@bp.post("/<int:ticket_id>/tasks/<int:task_id>/callback")
@login_required
def call_back(ticket_id: int, task_id: int) -> Response:
    """Place the callback: the signed-in engineer's phone rings first, then the customer's."""
    session = get_session()
    task = session.get(Task, task_id)
    if task is None or task.ticket_id != ticket_id:
        abort(404)
    back = redirect(url_for(".show", ticket_id=ticket_id, _anchor="tasks"))
    user = current_user()
    assert user is not None
    engineer = session.get(Engineer, user.engineer_id) if user.engineer_id else None
    if engineer is None or not engineer.phone:
        flash("Your login is not linked to an engineer's phone, so we can't ring you.", "error")
        return back
    if task.callback_number is None:
        flash("The caller withheld their number: there is nobody to call back.", "error")
        return back
    if task.state is TaskState.DONE or not tasks.begin_callback(
        session, task, user.username, utcnow()
    ):
        flash("That task is already done.", "error")
        return back
    # Committed before Twilio is asked: its webhook for this leg reads the counted attempt.
    session.commit()
    settings = settings_of(current_app)
    try:
        leg = rest_client(settings).calls.create(
            to=engineer.phone,
            from_=settings.hotline_number,
            url=settings.public_base_url + url_for("ivr.callback", task=task.id),
            method="POST",
            timeout=30,
        )
    except (TwilioRestException, OSError) as exc:
        log.warning("callback for task %s could not be placed: %s", task.id, exc)
        flash("Twilio did not place the call; try again, or call the number yourself.", "error")
        return back
    log.info("callback for task %s placed as %s", task.id, leg.sid)
    flash(f"Calling your phone {engineer.phone}; answer to be put through to the customer.", "ok")
    return back
