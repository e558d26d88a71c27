"""Accounts: licences and entitlement (with the reason), licences issued, PINs renewed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from dashboard import audit
from dashboard.once import already_done
from dashboard.security import current_user, manager_required
from dashboard.web import page_blueprint, sentence
from entitlement import (
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
from entitlement.licences import MAX_LICENCE_QUANTITY, MAX_LICENCE_TERM_DAYS
from kernel.config import settings_of
from kernel.db import get_session
from models import Account, LicenceKind, PinKind, Ticket, utcnow

bp = page_blueprint("dashboard_accounts", __name__, url_prefix="/dashboard/accounts")

ACCOUNTS_PER_PAGE = 100
# A PIN meant to last longer than a year should be a standing PIN renewed each year.
MAX_PIN_DAYS = 366
ALREADY_ISSUED = (
    "That PIN was already issued when the page was first shown; reloading does not issue "
    "another, and the digits are not shown again. Renew again if they were lost."
)
PIN_KINDS = {
    "standing": PinKind.STANDING,
    "one_time": PinKind.ONE_TIME,
    "privileged": PinKind.PRIVILEGED,
}


def entitlement_of(account: Account) -> Any:
    """The account's entitlement now (imported lazily: another module owns the rule)."""

    return check_entitlement(get_session(), account, utcnow())


@bp.get("/")
@manager_required
def index() -> str:
    """Accounts, with their entitlement state and why."""
    session = get_session()
    q = request.args.get("q", "").strip()[:100]
    stmt = select(Account).options(selectinload(Account.licences)).order_by(Account.name)
    if q:
        stmt = stmt.where(Account.name.ilike(f"%{q}%"))
    accounts = session.scalars(stmt.limit(ACCOUNTS_PER_PAGE)).all()
    open_counts = dict(
        session.execute(
            select(Ticket.account_id, func.count())
            .where(Ticket.account_id.in_([a.id for a in accounts]), Ticket.status != "solved")
            .group_by(Ticket.account_id)
        ).all()
    )
    rows = [
        (account, entitlement_of(account), open_counts.get(account.id, 0)) for account in accounts
    ]
    return render_template("dashboard/accounts.html", rows=rows, q=q)


def _account_or_404(account_id: int) -> Account:
    account = get_session().get(Account, account_id)
    if account is None:
        abort(404)
    return account


def _render_account(account: Account, new_pin: Any = None, status: int = 200) -> Response:

    session = get_session()
    response = make_response(
        render_template(
            "dashboard/account.html",
            account=account,
            entitlement=entitlement_of(account),
            pins=list_pins(session, account, utcnow()),
            new_pin=new_pin,
            licence_kinds=[k.value for k in LicenceKind],
            max_quantity=MAX_LICENCE_QUANTITY,
            max_days=MAX_LICENCE_TERM_DAYS,
            recent=session.scalars(
                select(Ticket)
                .where(Ticket.account_id == account.id)
                .order_by(Ticket.created_at.desc())
                .limit(10)
            ).all(),
        ),
        status,
    )
    # A page showing a new PIN must not be kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:account_id>")
@manager_required
def show(account_id: int) -> Response:
    """One account: contacts, licences, entitlement, PINs (never digits) and recent tickets."""
    return _render_account(_account_or_404(account_id))


@bp.post("/<int:account_id>/licences")
@manager_required
def issue_licence_view(account_id: int) -> Response:
    """Issue licences to the account."""

    account = _account_or_404(account_id)
    session = get_session()
    if already_done():
        flash("Those licences were already issued; reloading does not issue them again.", "ok")
        return redirect(url_for(".show", account_id=account_id), code=303)
    try:
        kind = LicenceKind(request.form.get("kind", ""))
        quantity = int(request.form.get("quantity", ""))
        days_raw = request.form.get("days", "").strip()
        days = int(days_raw) if days_raw else None
    except ValueError:
        flash("Choose a kind and give the quantity (and days) as whole numbers.", "error")
        return redirect(url_for(".show", account_id=account_id))
    try:
        licence = issue_licence(
            session,
            account,
            kind,
            quantity,
            utcnow(),
            term_days=days,
            support_licence_days=settings_of(current_app).support_licence_days,
        )
    except LicenceError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".show", account_id=account_id))
    audit.record(
        session,
        current_user(),
        "licence.issued",
        account.name,
        kind=kind.value,
        quantity=quantity,
        licence_id=licence.id,
    )
    session.commit()
    flash(f"Issued {quantity} {kind.value} licence(s) to {account.name}.", "ok")
    return redirect(url_for(".show", account_id=account_id), code=303)


@bp.post("/<int:account_id>/pins")
@manager_required
def pin_action(account_id: int) -> Response:
    """Renew or clear the standing PIN, or issue a one-time or privileged one."""

    account = _account_or_404(account_id)
    session = get_session()
    action = request.form.get("action", "")
    if already_done():
        flash(ALREADY_ISSUED if action != "clear" else "The PIN was already cleared.", "ok")
        return redirect(url_for(".show", account_id=account_id), code=303)
    policy = PinPolicy.from_settings(settings_of(current_app))
    now = utcnow()
    days_raw = request.form.get("expires_in_days", "").strip()
    expires_in = None
    if days_raw:
        if not days_raw.isdigit() or not 1 <= int(days_raw) <= MAX_PIN_DAYS:
            flash(f"A PIN's lifetime must be 1 to {MAX_PIN_DAYS} days.", "error")
            return redirect(url_for(".show", account_id=account_id), code=303)
        expires_in = timedelta(days=int(days_raw))
    try:
        if action == "renew":
            issued = renew_standing_pin(session, account, now, policy, expires_in)
        elif action in ("one_time", "privileged", "standing"):
            issued = issue_pin(session, account, PIN_KINDS[action], now, policy, expires_in)
        elif action == "clear":
            cleared = clear_pins(session, account, now, (PinKind.STANDING,))
            if not cleared:
                raise PinError(f"{account.name} has no working standing PIN to clear")
            audit.record(session, current_user(), "pin.cleared", account.name, count=len(cleared))
            session.commit()
            flash("Standing PIN cleared: it no longer works.", "ok")
            return redirect(url_for(".show", account_id=account_id), code=303)
        else:
            abort(400, description="Unknown PIN action.")
    except PinError as exc:
        session.rollback()
        flash(sentence(str(exc)), "error")
        return redirect(url_for(".show", account_id=account_id), code=303)
    audit.record(
        session,
        current_user(),
        f"pin.{'renewed' if action == 'renew' else 'issued'}",
        account.name,
        kind=issued.pin.kind.value,
        pin_id=issued.pin.id,
    )
    session.commit()
    # Rendered, not redirected: the digits are never kept anywhere to be shown again. The form's
    # one-use key makes a reload of this page (a re-post) come back without a second PIN.
    return _render_account(account, new_pin=issued)
