"""API: accounts with entitlement, their licences and support PINs (managers only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from dashboard import audit
from dashboard.api import serialize
from dashboard.api.base import api_user, bp, fail, iso, json_body, manager_token_required
from hotline.app import settings_of
from hotline.db import get_session
from models import Account, LicenceKind, PinKind, utcnow

PIN_ACTIONS = ("renew", "standing", "one_time", "privileged", "clear")


def _entitlement(account: Account) -> Any:
    from entitlement import check_entitlement

    return check_entitlement(get_session(), account, utcnow())


def _account(account_id: int) -> Account:
    found = get_session().get(Account, account_id)
    if found is None:
        fail(404, f"no account {account_id}")
    return found


@bp.get("/accounts")
@manager_token_required
def list_accounts() -> ResponseReturnValue:
    """Accounts (optionally those whose name contains q) with their entitlement."""
    stmt = select(Account).order_by(Account.name).limit(500)
    q = request.args.get("q", "").strip()
    if q:
        stmt = stmt.where(Account.name.ilike(f"%{q}%"))
    rows = get_session().scalars(stmt)
    return jsonify({"accounts": [serialize.account(a, _entitlement(a)) for a in rows]})


@bp.get("/accounts/<int:account_id>")
@manager_token_required
def read_account(account_id: int) -> ResponseReturnValue:
    """One account with its entitlement, licences and products."""
    account = _account(account_id)
    data = serialize.account(account, _entitlement(account))
    data["licences"] = [serialize.licence(lic) for lic in account.licences]
    data["products"] = [{"id": p.id, "code": p.code, "name": p.name} for p in account.products]
    return jsonify(data)


@bp.get("/accounts/<int:account_id>/licences")
@manager_token_required
def list_licences(account_id: int) -> ResponseReturnValue:
    """The account's licences, oldest first."""
    return jsonify({"licences": [serialize.licence(lic) for lic in _account(account_id).licences]})


def _positive_int(body: dict[str, Any], name: str, required: bool) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        fail(400, "invalid input", {name: "must be a whole number of at least 1"})
    return value


@bp.post("/accounts/<int:account_id>/licences")
@manager_token_required
def create_licence(account_id: int) -> ResponseReturnValue:
    """Issue licences: {"kind": "support"|"user", "quantity": n, "days": optional term}."""
    from entitlement import LicenceError, issue_licence

    body = json_body()
    kinds = [k.value for k in LicenceKind]
    if body.get("kind") not in kinds:
        fail(400, "invalid input", {"kind": "must be one of " + ", ".join(kinds)})
    quantity = _positive_int(body, "quantity", required=True)
    days = _positive_int(body, "days", required=False)
    assert quantity is not None
    account = _account(account_id)
    session = get_session()
    try:
        licence = issue_licence(
            session,
            account,
            LicenceKind(body["kind"]),
            quantity,
            utcnow(),
            term_days=days,
            support_licence_days=settings_of(current_app).support_licence_days,
        )
    except LicenceError as exc:
        fail(400, "invalid input", {"quantity": str(exc)})
    audit.record(
        session, api_user(), "licence.issued", account.name, kind=body["kind"], quantity=quantity
    )
    session.commit()
    return jsonify(serialize.licence(licence)), 201


@bp.get("/accounts/<int:account_id>/pins")
@manager_token_required
def list_pins(account_id: int) -> ResponseReturnValue:
    """The account's PINs with kind, status and dates (never digits)."""
    from entitlement import list_pins as pins_of

    rows = pins_of(get_session(), _account(account_id), utcnow())
    return jsonify(
        {
            "pins": [
                {
                    "id": p.id,
                    "kind": p.kind.value,
                    "status": p.status,
                    "created_at": iso(p.created_at),
                    "expires_at": iso(p.expires_at),
                    "used_at": iso(p.used_at),
                    "cleared_at": iso(p.cleared_at),
                }
                for p in rows
            ]
        }
    )


@bp.post("/accounts/<int:account_id>/pins")
@manager_token_required
def pin_action(account_id: int) -> ResponseReturnValue:
    """{"action": renew|standing|one_time|privileged|clear, "expires_in_days": optional}."""
    from entitlement import PinError, PinPolicy, clear_pins, issue_pin, renew_standing_pin

    body = json_body()
    action = body.get("action")
    if action not in PIN_ACTIONS:
        fail(400, "invalid input", {"action": "must be one of " + ", ".join(PIN_ACTIONS)})
    days = _positive_int(body, "expires_in_days", required=False)
    expires_in = timedelta(days=days) if days else None
    account = _account(account_id)
    session = get_session()
    now = utcnow()
    policy = PinPolicy.from_settings(settings_of(current_app))
    if action == "clear":
        cleared = clear_pins(session, account, now, (PinKind.STANDING,))
        if not cleared:
            fail(409, f"{account.name} has no working standing PIN to clear")
        audit.record(session, api_user(), "pin.cleared", account.name, count=len(cleared))
        session.commit()
        return jsonify({"cleared": [p.id for p in cleared]})
    try:
        if action == "renew":
            issued = renew_standing_pin(session, account, now, policy, expires_in)
        else:
            issued = issue_pin(session, account, PinKind(action), now, policy, expires_in)
    except PinError as exc:
        fail(409, str(exc))
    audit.record(
        session,
        api_user(),
        "pin.renewed" if action == "renew" else "pin.issued",
        account.name,
        kind=issued.pin.kind.value,
        pin_id=issued.pin.id,
    )
    session.commit()
    return jsonify(
        {
            "id": issued.pin.id,
            "kind": issued.pin.kind.value,
            "pin": issued.display,
            "keypad": issued.keypad_entry,
            "expires_at": iso(issued.pin.expires_at),
            "note": "Shown once: it is stored only as a hash.",
        }
    ), 201
