"""The Support PIN page: entitlement in plain words, and the account's PINs behind buttons.

A PIN's digits appear only in the answer to a button press (a POST), never in a page's source
before that, never in a redirect, a cookie or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response

from entitlement.check import check_entitlement
from entitlement.licences import list_licences
from entitlement.pins import (
    PinError,
    clear_pins,
    issue_pin,
    renew_standing_pin,
    working_pin,
)
from entitlement.policy import PinPolicy
from entitlement.sealing import unseal
from kernel.config import settings_of
from kernel.db import get_session
from models import AuditEntry, LicenceKind, PinKind, SupportPin, utcnow
from portal.web import (
    bp,
    contact_required,
    me,
    my_account,
    my_contact,
    pin_manager_required,
    sentence,
)

KINDS = {
    "standing": PinKind.STANDING,
    "one_time": PinKind.ONE_TIME,
    "privileged": PinKind.PRIVILEGED,
}
PRIVILEGED_GRANTS = (
    "A privileged PIN lets support staff see and change your account's data for 24 hours "
    "after you give it to them; it does not replace your support PIN."
)


@dataclass(frozen=True)
class Revealed:
    """A PIN shown in answer to a button: what to read and what to type."""

    kind: str
    display: str
    keypad: str
    note: str = ""


def _policy() -> PinPolicy:
    return PinPolicy.from_settings(settings_of(current_app))


def _audit(action: str, **detail: Any) -> None:
    contact = my_contact()
    get_session().add(
        AuditEntry(
            at=utcnow(),
            username=f"contact:{contact.id}",
            action=f"portal.{action}",
            target=contact.account.name[:200],
            detail={"contact": contact.name, **detail},
        )
    )


def _keypad(display: str) -> str:
    return "*" + display[1:] if display.startswith("p") else display


def _pins(now: datetime) -> dict[str, SupportPin | None]:
    account = my_account()
    return {name: working_pin(get_session(), account, kind, now) for name, kind in KINDS.items()}


def _render(revealed: Revealed | None = None, message: str = "", error: str = "") -> str:
    db = get_session()
    now = utcnow()
    account = my_account()
    settings = settings_of(current_app)
    licences = [lic for lic in list_licences(db, account) if lic.is_current(now)]
    return render_template(
        "portal/pin.html",
        account=account,
        entitlement=check_entitlement(db, account, now),
        support_licences=[lic for lic in licences if lic.kind is LicenceKind.SUPPORT],
        user_licences=[lic for lic in licences if lic.kind is LicenceKind.USER],
        pins=_pins(now),
        can_manage=me().can_manage_pins,
        revealed=revealed,
        message=message,
        error=error,
        privileged_grants=PRIVILEGED_GRANTS,
        hotline_number=settings.hotline_number,
        account_management_number=settings.account_management_number,
    )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/pin")
@contact_required
def pin_page() -> str:
    """Entitlement and the PINs, with nothing revealed."""
    return _render()


@bp.post("/pin/show")
@contact_required
def show_pin() -> Response | str:
    """Reveal one working PIN of the account, once, for this button press."""
    name = request.form.get("kind", "standing")
    if name not in KINDS:
        abort(400, description="Unknown PIN kind.")
    if name != "standing" and not me().can_manage_pins:
        abort(403, description="Only your account's admin contacts can see this PIN.")
    pin = _pins(utcnow())[name]
    display = unseal(_policy(), pin.sealed) if pin is not None else None
    if pin is None:
        error = "There is no working PIN of this kind."
    elif display is None:
        error = "This PIN was issued before the portal could show PINs; renew it to see one."
    else:
        error = ""
    if error:
        if _wants_json():
            failed = jsonify({"error": error})
            failed.status_code = 404
            return failed
        return _render(error=error)
    assert display is not None and pin is not None
    _audit("pin.shown", kind=name, pin_id=pin.id)
    get_session().commit()
    revealed = Revealed(kind=name, display=display, keypad=_keypad(display))
    if _wants_json():
        response = jsonify({"pin": display, "keypad": revealed.keypad})
        response.headers["Cache-Control"] = "no-store"
        return response
    return _render(revealed=revealed)


@bp.post("/pin/renew")
@pin_manager_required
def renew_pin() -> str:
    """A new standing PIN; the old one stops working at once."""
    db = get_session()
    issued = renew_standing_pin(db, my_account(), utcnow(), _policy())
    _audit("pin.renewed", kind="standing", pin_id=issued.pin.id)
    db.commit()
    return _render(
        Revealed("standing", issued.display, issued.keypad_entry),
        message="Your new support PIN works now; the old one no longer does.",
    )


@bp.post("/pin/one-time")
@pin_manager_required
def new_one_time_pin() -> str:
    """A one-time PIN: works for one call, then never again."""
    return _issue(PinKind.ONE_TIME, "one_time", "One-time PIN ready: it works for one call.")


@bp.post("/pin/privileged")
@pin_manager_required
def new_privileged_pin() -> str:
    """A privileged PIN ('p' + digits), valid 24 hours."""
    return _issue(PinKind.PRIVILEGED, "privileged", "Privileged PIN ready: it works for 24 hours.")


def _issue(kind: PinKind, name: str, message: str) -> str:
    """Issue a PIN of `kind` for the account, audit it, and show it once."""
    db = get_session()
    issued = issue_pin(db, my_account(), kind, utcnow(), _policy())
    _audit("pin.issued", kind=name, pin_id=issued.pin.id)
    db.commit()
    return _render(Revealed(name, issued.display, issued.keypad_entry), message=message)


@bp.post("/pin/clear")
@pin_manager_required
def clear_pin() -> str:
    """Stop a PIN of one kind at once."""
    name = request.form.get("kind", "standing")
    if name not in KINDS:
        abort(400, description="Unknown PIN kind.")
    db = get_session()
    try:
        cleared = clear_pins(db, my_account(), utcnow(), (KINDS[name],))
        if not cleared:
            raise PinError("there is no working PIN of this kind to clear")
    except PinError as exc:
        db.rollback()
        return _render(error=sentence(str(exc)))
    _audit("pin.cleared", kind=name, count=len(cleared))
    db.commit()
    words = {"standing": "Support PIN", "one_time": "One-time PIN", "privileged": "Privileged PIN"}
    return _render(message=f"{words[name]} cleared: it no longer works.")
