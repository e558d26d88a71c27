"""POST /mail/inbound as Mailgun's routes post it: parsed fields or raw MIME, signed."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import encode_multipart

from models import Attachment, IntakeReview, MailOutcome, TicketMessage
from tests.mailin.conftest import (
    SIGNING_KEY,
    SUPPORT,
    Customer,
    email,
    inbound,
    replies_to,
    run_worker,
    tickets,
)
from tests.notify.conftest import SmtpSink


def signed(key: str = SIGNING_KEY, age: int = 0) -> dict[str, str]:
    """Mailgun's signature fields: HMAC-SHA256 of timestamp + token under the signing key."""
    timestamp, token = str(int(time.time()) - age), secrets.token_hex(25)
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def parsed_form(
    customer: Customer, subject: str, message_id: str = "<m1@client.test>"
) -> dict[str, Any]:
    """The fully parsed form a forward() route posts."""
    headers = [
        ["From", f"Ann Ops <{customer.email}>"],
        ["To", SUPPORT],
        ["Subject", subject],
        ["Message-Id", message_id],
        ["X-Mailgun-Spf", "Pass"],
        ["X-Mailgun-Dkim-Check-Result", "Pass"],
    ]
    return {
        "recipient": SUPPORT,
        "sender": customer.email,
        "from": f"Ann Ops <{customer.email}>",
        "subject": subject,
        "body-plain": "The nightly workflow stopped at 02:00.",
        "message-headers": json.dumps(headers),
        "attachment-count": "1",
        "attachment-1": (io.BytesIO(b"02:00 ERROR stopped\n"), "server.log", "text/plain"),
    }


def test_a_signed_parsed_post_opens_the_ticket_with_provider_verdicts(
    app: Flask, client: FlaskClient, session: Session, sink: tuple[SmtpSink, str], acme: Customer
) -> None:
    form = {**parsed_form(acme, f"PIN {acme.pin} Workflow stopped"), **signed()}
    response = client.post("/mail/inbound", data=form, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    run_worker(app)

    (row,) = inbound(session)
    assert row.source == "mailgun" and (row.spf, row.dkim) == ("Pass", "Pass")
    assert row.outcome is MailOutcome.TICKET and acme.pin.encode() not in row.raw
    (ticket,) = tickets(session)
    assert ticket.channel == "email" and ticket.subject == "Workflow stopped"
    assert [a.filename for a in session.scalars(select(Attachment))] == ["server.log"]
    assert ticket.number in str(replies_to(sink, acme.email)[0]["Subject"])


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, session: Session, acme: Customer
) -> None:
    form = {**parsed_form(acme, f"PIN {acme.pin} Help"), **signed(key="key-not-ours")}
    response = client.post("/mail/inbound", data=form, content_type="multipart/form-data")
    assert response.status_code == 403
    assert inbound(session) == []


def test_an_old_signature_and_a_replayed_token_are_refused(
    app: Flask, client: FlaskClient, session: Session, acme: Customer
) -> None:
    old = {**parsed_form(acme, "Help"), **signed(age=3600)}
    assert (
        client.post("/mail/inbound", data=old, content_type="multipart/form-data").status_code
        == 403
    )
    fields = signed()
    first = {**parsed_form(acme, "Help", "<a@client.test>"), **fields}
    assert (
        client.post("/mail/inbound", data=first, content_type="multipart/form-data").status_code
        == 200
    )
    replay = {**parsed_form(acme, "Other", "<b@client.test>"), **fields}
    assert (
        client.post("/mail/inbound", data=replay, content_type="multipart/form-data").status_code
        == 403
    )
    assert len(inbound(session)) == 1


def test_raw_mime_posts_and_redeliveries_make_one_ticket(
    app: Flask, client: FlaskClient, session: Session, acme: Customer
) -> None:
    raw = email(acme.email, f"PIN {acme.pin} Workflow stopped").as_string()
    for _ in range(2):
        response = client.post(
            "/mail/inbound/mime", data={"body-mime": raw, "recipient": SUPPORT, **signed()}
        )
        assert response.status_code == 200
    run_worker(app)
    assert len(tickets(session)) == 1 and len(inbound(session)) == 1


def test_an_empty_post_is_refused_for_good_and_an_unconfigured_webhook_says_so(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    assert client.post("/mail/inbound", data=signed()).status_code == 406
    app.config["HOTLINE"] = app.config["HOTLINE"].__class__(
        **{
            **app.config["HOTLINE"].__dict__,
            "mail": app.config["HOTLINE"].mail.__class__(addresses=(SUPPORT,)),
        }
    )
    response = client.post("/mail/inbound", data=signed())
    assert response.status_code == 503 and b"MAILGUN_WEBHOOK_SIGNING_KEY" in response.data


def test_a_raw_message_of_several_hundred_kilobytes_is_taken(
    app: Flask, client: FlaskClient, session: Session, acme: Customer
) -> None:
    message = email(acme.email, f"PIN {acme.pin} Logs attached")
    message.add_attachment(
        b"x" * 700_000, maintype="application", subtype="octet-stream", filename="core.bin"
    )
    form = {"body-mime": message.as_string(), "recipient": SUPPORT, **signed()}
    # Encoded here: the test client would spool so large a body to a file it never closes.
    boundary, body = encode_multipart(form)
    response = client.post(
        "/mail/inbound/mime", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 200, response.status
    run_worker(app)
    assert len(tickets(session)) == 1


def test_a_reply_whose_sender_checks_failed_is_held_not_added(
    app: Flask, client: FlaskClient, session: Session, sink: tuple[SmtpSink, str], acme: Customer
) -> None:
    form = {**parsed_form(acme, f"PIN {acme.pin} Workflow stopped"), **signed()}
    assert (
        client.post("/mail/inbound", data=form, content_type="multipart/form-data").status_code
        == 200
    )
    run_worker(app)
    (ticket,) = tickets(session)
    before = messages_on(session, ticket.id)
    # A forged From of the same contact, answering on the ticket's number: the provider's
    # SPF and DKIM checks both failed.
    forged = parsed_form(acme, f"Re: [{ticket.number}] Workflow stopped", "<m2@forger.test>")
    headers = json.loads(forged["message-headers"])
    headers = [[k, "Fail" if k.startswith("X-Mailgun-") else v] for k, v in headers]
    forged.update({"message-headers": json.dumps(headers), "attachment-count": "0"})
    del forged["attachment-1"]
    response = client.post(
        "/mail/inbound", data={**forged, **signed()}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    run_worker(app)
    held = inbound(session)[1]
    assert held.outcome is MailOutcome.HELD and held.review is IntakeReview.PENDING
    assert messages_on(session, ticket.id) == before


def messages_on(session: Session, ticket_id: int) -> int:
    """How many conversation messages the ticket has."""
    count = session.scalar(
        select(func.count()).select_from(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
    )
    return int(count or 0)
