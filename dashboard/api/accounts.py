"""API: accounts with entitlement, their licences and support PINs (managers only)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from dashboard import audit
from dashboard.api import schemas
from dashboard.api.base import api_user, bp, fail, manager_token_required
from dashboard.api.operations import operation
from entitlement import (
    Entitlement,
    LicenceError,
    PinError,
    PinPolicy,
    check_entitlement,
    clear_pins,
    issue_licence,
    issue_pin,
    list_pins,
    renew_standing_pin,
)
from kernel.config import settings_of
from kernel.db import get_session
from models import Account, PinKind, utcnow


def _entitlement(account: Account) -> Entitlement:
    return check_entitlement(get_session(), account, utcnow())


def _account(account_id: int) -> Account:
    found = get_session().get(Account, account_id)
    if found is None:
        fail(404, f"no account {account_id}")
    return found


@bp.get("/accounts")
@manager_token_required
@operation(
    "List accounts with entitlement",
    responses={200: schemas.AccountList},
    query=schemas.AccountQuery,
    managers_only=True,
)
def list_accounts(query: schemas.AccountQuery) -> schemas.AccountList:
    """Accounts (optionally those whose name contains q) with their entitlement."""
    stmt = select(Account).order_by(Account.name).limit(500)
    if query.q:
        stmt = stmt.where(Account.name.ilike(f"%{query.q}%"))
    rows = get_session().scalars(stmt)
    return schemas.AccountList(accounts=[schemas.Account.of(a, _entitlement(a)) for a in rows])


@bp.get("/accounts/<int:account_id>")
@manager_token_required
@operation("Read an account", responses={200: schemas.AccountDetail}, managers_only=True)
def read_account(account_id: int) -> schemas.AccountDetail:
    """One account with its entitlement, licences and products."""
    account = _account(account_id)
    return schemas.AccountDetail.of_account(account, _entitlement(account))


@bp.get("/accounts/<int:account_id>/licences")
@manager_token_required
@operation("List licences", responses={200: schemas.LicenceList}, managers_only=True)
def list_licences(account_id: int) -> schemas.LicenceList:
    """The account's licences, oldest first."""
    licences = _account(account_id).licences
    return schemas.LicenceList(licences=[schemas.Licence.of(lic) for lic in licences])


@bp.post("/accounts/<int:account_id>/licences")
@manager_token_required
@operation(
    "Issue licences",
    responses={201: schemas.Licence},
    body=schemas.LicenceCreate,
    managers_only=True,
)
def create_licence(account_id: int, body: schemas.LicenceCreate) -> schemas.Licence:
    """Issue licences of a kind, for the policy's term or the days given."""
    account = _account(account_id)
    session = get_session()
    try:
        licence = issue_licence(
            session,
            account,
            body.kind,
            body.quantity,
            utcnow(),
            term_days=body.days,
            support_licence_days=settings_of(current_app).support_licence_days,
        )
    except LicenceError as exc:
        fail(400, "invalid input", {"quantity": str(exc)})
    audit.record(
        session,
        api_user(),
        "licence.issued",
        account.name,
        kind=body.kind.value,
        quantity=body.quantity,
    )
    session.commit()
    return schemas.Licence.of(licence)


@bp.get("/accounts/<int:account_id>/pins")
@manager_token_required
@operation("List PINs (never digits)", responses={200: schemas.PinList}, managers_only=True)
def list_account_pins(account_id: int) -> schemas.PinList:
    """The account's PINs with kind, status and dates (never digits)."""
    rows = list_pins(get_session(), _account(account_id), utcnow())
    return schemas.PinList(pins=[schemas.Pin.of(p) for p in rows])


@bp.post("/accounts/<int:account_id>/pins")
@manager_token_required
@operation(
    "Renew, issue or clear a PIN",
    responses={201: schemas.IssuedPin, 200: schemas.ClearedPins},
    body=schemas.PinRequest,
    errors=(409,),
    managers_only=True,
)
def pin_action(
    account_id: int, body: schemas.PinRequest
) -> schemas.IssuedPin | schemas.ClearedPins:
    """Renew the standing PIN, issue one of a kind (digits shown once), or clear the standing."""
    days = body.expires_in_days
    expires_in = timedelta(days=days) if days else None
    account = _account(account_id)
    session = get_session()
    now = utcnow()
    policy = PinPolicy.from_settings(settings_of(current_app))
    if body.action is schemas.PinAction.CLEAR:
        cleared = clear_pins(session, account, now, (PinKind.STANDING,))
        if not cleared:
            fail(409, f"{account.name} has no working standing PIN to clear")
        audit.record(session, api_user(), "pin.cleared", account.name, count=len(cleared))
        session.commit()
        return schemas.ClearedPins(cleared=[p.id for p in cleared])
    renew = body.action is schemas.PinAction.RENEW
    try:
        if renew:
            issued = renew_standing_pin(session, account, now, policy, expires_in)
        else:
            issued = issue_pin(
                session, account, PinKind(body.action.value), now, policy, expires_in
            )
    except PinError as exc:
        fail(409, str(exc))
    audit.record(
        session,
        api_user(),
        "pin.renewed" if renew else "pin.issued",
        account.name,
        kind=issued.pin.kind.value,
        pin_id=issued.pin.id,
    )
    session.commit()
    return schemas.IssuedPin.of(issued)
