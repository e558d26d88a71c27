"""Signing in to the portal: a one-time link by email, or the optional password; signing out."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from directory import portal_access
from directory.portal_access import AccessError, LinkProblem
from kernel.config import settings_of
from kernel.db import get_session
from models import utcnow
from portal.web import bp, contact_required, me, safe_next, sentence, sign_in, sign_out

SENT = (
    "If {email} belongs to a contact with portal access, a sign-in link is on its way. "
    "It works once, for 15 minutes."
)
MISMATCH = "That email and password do not match. Ask for a sign-in link instead."
PROBLEMS = {
    LinkProblem.EXPIRED: "This sign-in link has expired (links work for 15 minutes).",
    LinkProblem.USED: "This sign-in link has already been used (each link works once).",
    LinkProblem.UNKNOWN: "This sign-in link is not valid.",
    LinkProblem.INACTIVE: "This sign-in link is not valid.",
}


def link_base() -> str:
    """The absolute start of a sign-in link, the token to be appended."""
    base = settings_of(current_app).public_base_url
    return base + url_for("portal.link_page", token="")


@bp.get("/sign-in")
def sign_in_page() -> str:
    """Ask for an email address (or an address and password)."""
    return render_template("portal/sign_in.html", next=request.args.get("next", ""))


@bp.post("/sign-in")
def send_link() -> str:
    """Email a sign-in link; the page says the same whether the address is known or not."""
    email = request.form.get("email", "").strip()
    if "@" not in email:
        return render_template(
            "portal/sign_in.html", email=email, email_error="Enter your email address."
        )
    db = get_session()
    portal_access.request_link(db, email, utcnow(), link_base())
    db.commit()
    return render_template("portal/sign_in.html", sent=SENT.format(email=email))


@bp.post("/sign-in/password")
def password_sign_in() -> Response | str:
    """Sign in with the optional password."""
    email = request.form.get("email", "").strip()
    db = get_session()
    user = portal_access.check_password(db, email, request.form.get("password", ""), utcnow())
    if user is None:
        db.rollback()
        return render_template(
            "portal/sign_in.html",
            email=email,
            password_error=MISMATCH,
            show_password=True,
        )
    sign_in(user)
    db.commit()
    return redirect(safe_next(request.form.get("next")))


@bp.get("/link/<token>")
def link_page(token: str) -> str:
    """A sign-in link: a button to continue (mail scanners that open links use nothing up)."""
    problem = portal_access.check_link(get_session(), token, utcnow())
    if isinstance(problem, LinkProblem):
        return render_template("portal/link.html", problem=PROBLEMS[problem])
    return render_template("portal/link.html", token=token, name=problem.contact.name)


@bp.post("/link/<token>")
def use_link(token: str) -> Response | str:
    """Use the link: sign in, once."""
    db = get_session()
    found = portal_access.redeem_link(db, token, utcnow())
    if isinstance(found, LinkProblem):
        db.rollback()
        return render_template("portal/link.html", problem=PROBLEMS[found])
    sign_in(found)
    db.commit()
    return redirect(url_for("portal.pin_page"))


@bp.post("/sign-out")
def sign_out_view() -> Response:
    """Sign this browser out."""
    sign_out()
    return redirect(url_for("portal.sign_in_page", signed_out=1))


@bp.route("/password", methods=["GET", "POST"])
@contact_required
def password_page() -> str:
    """Set (or change) the optional password."""
    if request.method == "GET":
        return render_template("portal/password.html")
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        return render_template("portal/password.html", error="The two passwords differ.")
    db = get_session()
    try:
        portal_access.set_password(me(), password)
    except AccessError as exc:
        return render_template("portal/password.html", error=sentence(str(exc)))
    db.commit()
    return render_template("portal/password.html", done=True)


@bp.get("/")
def home() -> Response:
    """The portal's front door: the PIN page, or the sign-in page."""
    if g.get("portal_user") is None:
        return redirect(url_for("portal.sign_in_page"))
    return redirect(url_for("portal.pin_page"))
