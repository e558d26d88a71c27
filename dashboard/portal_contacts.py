"""Managers invite an account's contacts to the customer portal, and switch them off."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.accounts import bp
from dashboard.security import current_user, manager_required
from dashboard.web import sentence
from directory import portal_access
from kernel.config import settings_of
from kernel.db import get_session
from models import Account, Contact, PortalUser, utcnow


def portal_access_of(account: Account) -> dict[int, PortalUser]:
    """Each contact's portal access by contact id (contacts never invited are missing)."""
    return {
        contact.id: found
        for contact in account.contacts
        if (found := portal_access.portal_user_of(get_session(), contact)) is not None
    }


@bp.post("/<int:account_id>/contacts/<int:contact_id>/portal")
@manager_required
def contact_portal(account_id: int, contact_id: int) -> Response:
    """Invite (or re-invite) a contact, deactivate one, or change who may manage PINs."""
    session = get_session()
    contact = session.get(Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        abort(404)
    action = request.form.get("action", "")
    now = utcnow()
    back = redirect(url_for(".show", account_id=account_id, _anchor="portal-access"))
    link_base = settings_of(current_app).public_base_url + url_for("portal.link_page", token="")
    detail: dict[str, Any] = {"contact": contact.name}
    try:
        if action == "invite":
            admin = request.form.get("can_manage_pins") == "on"
            portal_access.invite(session, contact, now, admin, link_base)
            message = f"Invitation emailed to {contact.email}."
            detail["can_manage_pins"] = admin
        elif action == "deactivate":
            if not portal_access.deactivate(session, contact, now):
                raise portal_access.AccessError(f"{contact.name} has no active portal access")
            message = f"{contact.name} can no longer sign in to the portal."
        elif action in ("pins_on", "pins_off"):
            portal_access.set_pin_permission(session, contact, action == "pins_on")
            verb = "given to" if action == "pins_on" else "taken from"
            message = f"PIN management {verb} {contact.name}."
        else:
            abort(400, description="Unknown portal action.")
    except portal_access.AccessError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return back
    account = session.get(Account, account_id)
    audit.record(
        session, current_user(), f"portal.{action}", account.name if account else "", **detail
    )
    session.commit()
    flash(message, "ok")
    return back
