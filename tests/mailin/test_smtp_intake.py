"""Email sent with smtplib to the running intake server: each outcome, its reply at the sink."""

from __future__ import annotations

import logging
import smtplib
from email.utils import make_msgid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.users import create_user
from kernel.config import settings_of
from kernel.services import services_of
from mailin.receive import receive
from models import (
    Attachment,
    InboundMail,
    IntakeReview,
    MailOutcome,
    PinKind,
    TicketMessage,
    UserRole,
    utcnow,
)
from tests.dashboard.conftest import PASSWORD, Browser, sign_in
from tests.mailin.conftest import (
    SUPPORT,
    Customer,
    customer,
    email,
    inbound,
    replies_to,
    run_worker,
    smtp_send,
    text_of,
    tickets,
)
from tests.notify.conftest import SmtpSink
from tickets.mail.intake import IntakeConfig, process
from tickets.mail.message import message_id_of, parse

Sink = tuple[SmtpSink, str]
Intake = tuple[str, int]


def test_pin_and_sender_on_file_open_an_email_ticket_and_the_reply_gives_its_number(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    sent = email(acme.email, f"PIN {acme.pin} Workflow Stopped Unexpectedly")
    smtp_send(intake, sent)
    run_worker(app)

    (ticket,) = tickets(session)
    assert ticket.channel == "email"
    assert ticket.subject == "Workflow Stopped Unexpectedly"
    assert "nightly workflow stopped" in ticket.description
    assert ticket.severity == 3
    assert ticket.category == "bug"
    assert ticket.contact_name == "Acme Corp Ann"
    (reply,) = replies_to(sink, acme.email)
    assert ticket.number in str(reply["Subject"])
    assert ticket.number in text_of(reply) and "within 1 day" in text_of(reply)
    # In the sender's thread, marked automatic, and answered back to the intake.
    assert reply["In-Reply-To"] == sent["Message-ID"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Reply-To"] == SUPPORT
    # The conversation shows the email itself.
    (message,) = session.scalars(select(TicketMessage)).all()
    assert message.channel == "email" and "nightly workflow" in message.body


def test_the_pin_digits_are_never_stored_or_logged(
    app: Flask,
    session: Session,
    intake: Intake,
    acme: Customer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_send(
        intake, email(acme.email, f"pin {acme.pin} Workflow stopped", f"My PIN is {acme.pin}.")
    )
    run_worker(app)

    (row,) = inbound(session)
    assert acme.pin.encode() not in row.raw
    assert acme.pin not in row.subject and row.subject.startswith("PIN ****")
    assert row.outcome is MailOutcome.TICKET
    assert row.pin_hash is None  # once checked, not even the hash is kept
    assert acme.pin not in tickets(session)[0].description
    assert caplog.records and not [r for r in caplog.records if acme.pin in r.getMessage()]


def test_attachments_are_stored_with_their_content_checked(
    app: Flask, session: Session, intake: Intake, acme: Customer
) -> None:
    files = [
        ("server.log", b"02:00 ERROR workflow stopped\n"),
        ("screenshot.png", b"MZ this is really a program"),
        ("tool.exe", b"MZ\x90\x00"),
    ]
    smtp_send(intake, email(acme.email, f"PIN {acme.pin} Crash", files=files))
    run_worker(app)

    (ticket,) = tickets(session)
    kept = session.scalars(select(Attachment)).all()
    assert [a.filename for a in kept] == ["server.log"]
    assert kept[0].message_id is not None
    store = app.extensions["attachment_store"]
    assert store.get(kept[0].storage_key) == b"02:00 ERROR workflow stopped\n"
    assert "screenshot.png was not kept: it is a program" in ticket.description
    assert "tool.exe is not a type we accept" in ticket.description


def test_a_sender_not_on_file_is_held_for_staff_and_told_it_will_be_slower(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email("stranger@elsewhere.test", f"PIN {acme.pin} Help"))
    run_worker(app)

    assert tickets(session) == []
    (row,) = inbound(session)
    assert row.outcome is MailOutcome.HELD and row.review is IntakeReview.PENDING
    assert row.account_id == acme.account_id
    (reply,) = replies_to(sink, "stranger@elsewhere.test")
    assert "slower" in text_of(reply)


def test_a_pin_of_another_account_is_held(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    globex = customer(app, session, "Globex", "gil@globex.test", phone="+14155550111")
    smtp_send(intake, email(globex.email, f"PIN {acme.pin} Help"))
    run_worker(app)

    assert tickets(session) == []
    (row,) = inbound(session)
    assert row.outcome is MailOutcome.HELD and row.account_id == acme.account_id
    assert "slower" in text_of(replies_to(sink, globex.email)[0])


def test_no_pin_opens_nothing_and_the_reply_says_how_to_get_one_and_resend(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email(acme.email, "Workflow stopped unexpectedly"))
    run_worker(app)

    assert tickets(session) == []
    assert inbound(session)[0].outcome is MailOutcome.NO_PIN
    body = text_of(replies_to(sink, acme.email)[0])
    assert "/portal/" in body and "Subject: PIN 12345678" in body and SUPPORT in body


def test_not_entitled_gets_the_reason_in_plain_words(
    app: Flask, session: Session, intake: Intake, sink: Sink
) -> None:
    lapsed = customer(app, session, "Lapsed Ltd", "lee@lapsed.test", entitled=False)
    smtp_send(intake, email(lapsed.email, f"PIN {lapsed.pin} Help"))
    run_worker(app)

    assert tickets(session) == []
    assert inbound(session)[0].outcome is MailOutcome.NOT_ENTITLED
    assert "your support licences expired on" in text_of(replies_to(sink, lapsed.email)[0])


def test_completely_down_opens_the_ticket_and_the_reply_gives_the_hotline_number_first(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(
        intake, email(acme.email, f"PIN {acme.pin} Production", "Our service is completely down.")
    )
    run_worker(app)

    (ticket,) = tickets(session)
    assert ticket.severity == 1
    reply = replies_to(sink, acme.email)[0]
    first_line = text_of(reply).split("\n\n")[1]
    assert first_line.startswith(
        "If your service is completely down, call the hotline now on +15005550006"
    )
    assert "+15005550006" in str(reply["Subject"])


def test_a_wrong_pin_is_refused_and_counted_like_on_the_phone(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email(acme.email, "PIN 99999999 Help"))
    run_worker(app)

    assert tickets(session) == []
    assert inbound(session)[0].outcome is MailOutcome.PIN_REFUSED
    assert "was not recognised" in text_of(replies_to(sink, acme.email)[0])


def test_a_privileged_pin_grants_elevated_access_and_a_one_time_pin_works_once(
    app: Flask, session: Session, intake: Intake, sink: Sink
) -> None:
    vip = customer(app, session, "Vip Inc", "val@vip.test", kind=PinKind.PRIVILEGED)
    assert vip.pin.startswith("p")
    smtp_send(intake, email(vip.email, f"PIN {vip.pin} Please look at our logs"))
    once = customer(
        app, session, "Once Co", "oli@once.test", kind=PinKind.ONE_TIME, phone="+14155550122"
    )
    smtp_send(intake, email(once.email, f"PIN {once.pin} First"))
    smtp_send(intake, email(once.email, f"PIN {once.pin} Second"))
    run_worker(app)

    opened = tickets(session)
    assert [t.subject for t in opened] == ["Please look at our logs", "First"]
    assert opened[0].elevated_access_until is not None
    assert inbound(session)[2].outcome is MailOutcome.PIN_REFUSED
    # The two replies go out in one batch, several at a time: their order at the sink varies.
    answers = [text_of(reply) for reply in replies_to(sink, once.email)]
    assert len(answers) == 2
    assert ["already been used" in answer for answer in sorted(answers)].count(True) == 1


def test_a_reply_to_our_email_joins_the_ticket_without_a_pin(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    smtp_send(intake, email(acme.email, f"PIN {acme.pin} Workflow stopped"))
    run_worker(app)
    ours = replies_to(sink, acme.email)[0]

    answer = email(
        acme.email,
        f"Re: {ours['Subject']}",
        "It stopped again at 03:00.",
        headers={"In-Reply-To": ours["Message-ID"], "References": ours["Message-ID"]},
    )
    smtp_send(intake, answer)
    by_tag = email(acme.email, f"About [{tickets(session)[0].number}]", "And at 04:00.")
    smtp_send(intake, by_tag)
    run_worker(app)

    (ticket,) = tickets(session)
    bodies = [m.body for m in session.scalars(select(TicketMessage).order_by(TicketMessage.id))]
    assert bodies[1:] == ["It stopped again at 03:00.", "And at 04:00."]
    assert [r.outcome for r in inbound(session)][1:] == [MailOutcome.THREADED] * 2
    assert all(r.ticket_id == ticket.id for r in inbound(session))


def test_a_staff_reply_goes_out_in_the_customers_thread(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    sent = email(acme.email, f"PIN {acme.pin} Workflow stopped")
    smtp_send(intake, sent)
    run_worker(app)
    (ticket,) = tickets(session)
    create_user(session, "sam", "Sam Support", PASSWORD, UserRole.MANAGER)
    session.commit()
    client = app.test_client()
    assert sign_in(client, "sam").status_code == 302
    # The ticket page's "Customer conversation" reply form, as staff use it.
    browser = Browser(client)
    posted = browser.post(f"/dashboard/tickets/{ticket.id}/reply", {"body": "Send the log."})
    assert posted.status_code == 302
    run_worker(app)

    reply = next(m for m in replies_to(sink, acme.email) if "New reply" in str(m["Subject"]))
    assert f"[{ticket.number}]" in str(reply["Subject"])
    assert reply["In-Reply-To"] == sent["Message-ID"]
    assert sent["Message-ID"] in str(reply["References"])
    assert reply["Reply-To"] == SUPPORT
    assert reply["Auto-Submitted"] is None  # a person wrote it
    assert "Send the log." in text_of(reply) and "Answer this email" in text_of(reply)
    # The customer's answer to it comes back onto the ticket.
    smtp_send(
        intake,
        email(
            acme.email,
            f"Re: {reply['Subject']}",
            "Attached.",
            headers={"In-Reply-To": reply["Message-ID"]},
        ),
    )
    run_worker(app)
    assert inbound(session)[-1].outcome is MailOutcome.THREADED


@pytest.mark.parametrize(
    "header",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List-Id": "<ops.lists.acme.test>"},
    ],
)
def test_auto_replies_and_bulk_mail_are_never_answered(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer, header: dict[str, str]
) -> None:
    smtp_send(intake, email(acme.email, "Out of office: Re: your ticket", headers=header))
    run_worker(app)

    assert inbound(session)[0].outcome is MailOutcome.AUTOMATIC
    assert replies_to(sink, acme.email) == []
    assert tickets(session) == []


def test_a_message_from_the_null_envelope_sender_is_never_answered(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    # A vacation notice sent as bounces are (MAIL FROM:<>), with no RFC 3834 header of its own.
    smtp_send(intake, email(acme.email, "I am away until Monday"), mail_from="")
    run_worker(app)

    assert inbound(session)[0].outcome is MailOutcome.AUTOMATIC
    assert replies_to(sink, acme.email) == []


def test_a_loop_with_another_auto_responder_stops_at_once(
    app: Flask, session: Session, intake: Intake, sink: Sink
) -> None:
    # Their responder answers our reply (no Auto-Submitted of its own, but from a system
    # sender); ours never answers that: one reply in all.
    smtp_send(intake, email("robot@vendor.test", "Hello"))
    run_worker(app)
    ours = replies_to(sink, "robot@vendor.test")
    assert len(ours) == 1 and ours[0]["Auto-Submitted"] == "auto-replied"
    smtp_send(
        intake, email("mailer-daemon@vendor.test", "Undeliverable: " + str(ours[0]["Subject"]))
    )
    run_worker(app)
    assert len(sink[0].messages) == 1


def test_a_20_mb_message_is_refused_by_the_server(
    app: Flask, session: Session, intake: Intake, acme: Customer
) -> None:
    big = email(acme.email, f"PIN {acme.pin} Dump", files=[("dump.log", b"x" * (20 * 1024 * 1024))])
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        smtp_send(intake, big)
    assert refused.value.smtp_code == 552
    assert inbound(session) == []


def test_mail_for_another_address_is_refused(app: Flask, session: Session, intake: Intake) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp_send(intake, email("ann@acme.test", "Hi", to="sales@hotline.example.test"))
    (code, text) = refused.value.recipients["sales@hotline.example.test"]
    assert code == 550 and SUPPORT.encode() in text
    assert inbound(session) == []


def test_the_same_message_delivered_twice_opens_one_ticket(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    sent = email(acme.email, f"PIN {acme.pin} Workflow stopped")
    smtp_send(intake, sent)
    run_worker(app)
    smtp_send(intake, sent)
    run_worker(app)

    assert len(tickets(session)) == 1
    assert len(inbound(session)) == 1
    assert len(replies_to(sink, acme.email)) == 1


@pytest.mark.parametrize("mail_overrides", [{"MAIL_SENDER_HOURLY": "2"}])
def test_a_sender_over_the_hourly_limit_is_kept_but_not_answered(
    app: Flask, session: Session, intake: Intake, sink: Sink, acme: Customer
) -> None:
    for n in range(3):
        smtp_send(intake, email(acme.email, f"Question {n}"))
    run_worker(app)

    assert [r.outcome for r in inbound(session)] == [
        MailOutcome.NO_PIN,
        MailOutcome.NO_PIN,
        MailOutcome.RATE_LIMITED,
    ]
    assert len(replies_to(sink, acme.email)) == 2


def test_an_html_only_message_becomes_safe_text(
    app: Flask, session: Session, intake: Intake, acme: Customer
) -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>It <b>crashed</b> &amp; stopped</p>"
        "<script>alert(1)</script></body></html>"
    )
    smtp_send(intake, email(acme.email, f"PIN {acme.pin} Crash", body="", html=html))
    run_worker(app)

    (ticket,) = tickets(session)
    assert ticket.description == "It crashed & stopped"


def test_a_message_stored_before_a_failed_job_is_processed_by_the_next_run(
    app: Flask, session: Session, acme: Customer
) -> None:

    raw = email(acme.email, f"PIN {acme.pin} Workflow stopped").as_bytes()
    stored = receive(services_of(app), raw, "smtp", acme.email)
    row = session.get(InboundMail, stored.mail_id)
    assert row is not None and row.outcome is None  # kept, nothing done yet
    run_worker(app)
    assert len(tickets(session)) == 1
    # A job run again (a retry, a duplicate) does nothing more.

    again = process(
        session,
        stored.mail_id,
        utcnow(),
        IntakeConfig.from_settings(settings_of(app)),
        app.extensions["attachment_store"],
    )
    assert again.outcome is None and len(tickets(session)) == 1


def test_message_ids_made_for_mail_without_one_are_stable(app: Flask, session: Session) -> None:

    raw = b"From: a@b.test\r\nSubject: x\r\n\r\nhello\r\n"
    assert message_id_of(parse(raw), raw) == message_id_of(parse(raw), raw)
    assert make_msgid() != make_msgid()


def test_a_message_stored_while_redis_was_down_is_queued_again_by_maintenance(
    app: Flask, session: Session, acme: Customer
) -> None:
    from datetime import timedelta

    from entitlement.policy import PinPolicy
    from tickets.mail.jobs import requeue_stored
    from tickets.mail.store import store_raw

    raw = email(acme.email, f"PIN {acme.pin} Workflow stopped").as_bytes()
    policy = PinPolicy.from_settings(settings_of(app))
    # Stored and committed, but its job never reached Redis.
    store_raw(session, raw, "smtp", acme.email, utcnow() - timedelta(minutes=2), policy, 10**7)
    session.commit()

    assert requeue_stored(services_of(app)) == 1
    assert requeue_stored(services_of(app)) == 0  # queued already: not twice
    run_worker(app)
    assert len(tickets(session)) == 1


def test_hotline_mail_send_reaches_the_intake(
    app: Flask, session: Session, intake: Intake, runner: Any, acme: Customer
) -> None:
    result = runner.invoke(
        "mail",
        "send",
        "--server",
        f"{intake[0]}:{intake[1]}",
        "--from",
        acme.email,
        "--subject",
        f"PIN {acme.pin} Workflow stopped",
        "--body",
        "Since 02:00.",
    )
    assert result.exit_code == 0, result.output
    assert f"to {SUPPORT}" in result.output
    run_worker(app)
    assert tickets(session)[0].subject == "Workflow stopped"


def test_hotline_mail_send_says_when_the_intake_refuses(
    app: Flask, intake: Intake, runner: Any
) -> None:
    result = runner.invoke(
        "mail",
        "send",
        "--server",
        f"{intake[0]}:{intake[1]}",
        "--from",
        "a@b.test",
        "--to",
        "nobody@hotline.example.test",
        "--subject",
        "hi",
    )
    assert result.exit_code == 1 and "refused" in result.output
