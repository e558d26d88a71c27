"""POST /notify/status: signed receipts record delivered or failed, never a downgrade."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from models import NotificationStatus, TicketOutcome, utcnow
from notify import triggers
from simulator import Simulator
from tests.conftest import PUBLIC_BASE_URL, TEST_AUTH_TOKEN
from tests.notify.conftest import drain, make_call, notifications, wait_for


def post_status(client: FlaskClient, params: dict[str, str], query: str = "") -> int:
    path = "/notify/status" + (f"?{query}" if query else "")
    signature = RequestValidator(TEST_AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code


def _sent_row(notify_app: Flask, session: Session) -> int:
    call = make_call(session, TicketOutcome.MESSAGE, email=None)
    triggers.call_ended(session, call, utcnow())
    session.commit()
    drain(notify_app)
    (row,) = notifications(session)
    return row.id


def test_simulator_receipts_mark_delivered(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    _sent_row(notify_app, session)
    wait_for(
        lambda: notifications(session)[0].status == NotificationStatus.DELIVERED, 5, "delivered"
    )
    (row,) = notifications(session)
    assert row.provider_id == sim.messages[0]["sid"]


def test_out_of_order_and_repeated_receipts(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.attach("http://127.0.0.1:9")  # the simulator's own receipts go nowhere in this test
    row_id = _sent_row(notify_app, session)
    client = notify_app.test_client()
    sid = sim.messages[0]["sid"]
    base = {"MessageSid": sid, "AccountSid": "AC", "To": "+1", "From": "+2"}
    assert post_status(client, {**base, "MessageStatus": "delivered"}, f"n={row_id}") == 204
    assert post_status(client, {**base, "MessageStatus": "sent"}, f"n={row_id}") == 204
    assert post_status(client, {**base, "MessageStatus": "delivered"}) == 204
    assert notifications(session)[0].status == NotificationStatus.DELIVERED
    assert (
        post_status(client, {**base, "MessageStatus": "undelivered", "ErrorCode": "30003"}) == 204
    )
    assert notifications(session)[0].status == NotificationStatus.DELIVERED


def test_failed_receipt_records_the_error(
    notify_app: Flask, session: Session, sim: Simulator
) -> None:
    sim.attach("http://127.0.0.1:9")
    row_id = _sent_row(notify_app, session)
    client = notify_app.test_client()
    params = {"MessageSid": sim.messages[0]["sid"], "MessageStatus": "undelivered",
              "ErrorCode": "30003"}  # fmt: skip
    assert post_status(client, params, f"n={row_id}") == 204
    (row,) = notifications(session)
    assert row.status == NotificationStatus.FAILED and "30003" in (row.last_error or "")


def test_forged_receipt_is_refused(notify_app: Flask, session: Session, sim: Simulator) -> None:
    sim.attach("http://127.0.0.1:9")
    row_id = _sent_row(notify_app, session)
    client = notify_app.test_client()
    params = {"MessageSid": sim.messages[0]["sid"], "MessageStatus": "failed"}
    response = client.post(
        f"/notify/status?n={row_id}", data=params, headers={"X-Twilio-Signature": "forged"}
    )
    assert response.status_code == 403
    assert notifications(session)[0].status == NotificationStatus.SENT
