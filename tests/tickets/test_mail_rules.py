"""The email intake's pure rules, as tables: PIN in a subject, masking, severity, category, HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy.orm import Session

from entitlement.pins import hash_pin
from entitlement.policy import PinPolicy
from entitlement.verify import find_mailed_pin, verify_mailed_pin
from models import PinOutcome
from tests import factories
from tickets.mail.intake import category_of, clean_subject, severity_of
from tickets.mail.message import html_to_text, read
from tickets.mail.store import mask_pin

POLICY = PinPolicy(pepper="test-pepper")


@pytest.mark.parametrize(
    ("subject", "digits", "privileged"),
    [
        ("PIN 12345678 Workflow Stopped Unexpectedly", "12345678", False),
        ("pin: 12345678 help", "12345678", False),
        ("Re: Pin#12345678", "12345678", False),
        ("urgent - PIN p1234567 logs", "1234567", True),
        ("PIN P1234567", "1234567", True),
    ],
)
def test_the_pin_is_found_in_the_subject_as_the_phone_hashes_it(
    subject: str, digits: str, privileged: bool
) -> None:
    found = find_mailed_pin(subject, POLICY)
    assert found is not None
    assert found.pin_hash == hash_pin(POLICY, digits, privileged)


@pytest.mark.parametrize(
    "subject", ["Workflow stopped", "Spinning 12345678", "PINE 12345678", "order 12345678"]
)
def test_no_pin_without_the_word_pin(subject: str) -> None:
    assert find_mailed_pin(subject, POLICY) is None


def test_digits_of_the_wrong_length_are_a_pin_that_matches_nothing() -> None:
    found = find_mailed_pin("PIN 1234 help", POLICY)
    assert found is not None and found.pin_hash is None


def test_masking_removes_every_copy_of_the_digits() -> None:
    raw = b"From: a@b.test\r\nSubject: PIN 12345678 Workflow\r\n\r\nMy PIN is 12345678, thanks\r\n"
    subject = "PIN 12345678 Workflow"
    found = find_mailed_pin(subject, POLICY)
    assert found is not None
    masked, masked_subject = mask_pin(raw, subject, found.start, found.end)
    assert b"12345678" not in masked
    assert masked_subject == "PIN ******** Workflow"
    assert read(masked).subject == "PIN ******** Workflow"
    assert clean_subject(masked_subject) == "Workflow"


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable"])
def test_a_pin_in_an_encoded_body_is_masked_too(encoding: str) -> None:
    message = EmailMessage()
    message["From"], message["Subject"] = "a@b.test", "PIN 12345678 Workflow"
    message.set_content("My PIN is 12345678, or 1234 5678 as the card says. " * 3, cte=encoding)
    subject = "PIN 12345678 Workflow"
    found = find_mailed_pin(subject, POLICY)
    assert found is not None
    masked, _ = mask_pin(message.as_bytes(), subject, found.start, found.end)
    text = read(masked).text
    assert "12345678" not in text and "1234 5678" not in text
    assert "My PIN is ********, or ******** as the card says." in text


@pytest.mark.parametrize(
    ("subject", "left"),
    [
        ("PIN12345678 help", "PIN ******** help"),
        ("Pin no. 12345678 help", "PIN ******** help"),
        ("PIN 1234 5678 help", "PIN ******** help"),
        ("pin number 12345678", "PIN ********"),
    ],
)
def test_every_way_of_writing_the_pin_is_found_and_wholly_masked(subject: str, left: str) -> None:
    found = find_mailed_pin(subject, POLICY)
    assert found is not None
    _, masked_subject = mask_pin(b"Subject: x\r\n\r\n", subject, found.start, found.end)
    assert masked_subject == left


@pytest.mark.parametrize(
    ("text", "severity", "down"),
    [
        ("Our service is completely down", 1, True),
        ("Complete outage since 2am", 1, True),
        ("This is severity 1", 1, True),
        ("Severity: 2, the reports are slow", 2, False),
        ("sev 4 cosmetic", 4, False),
        ("The report has a typo", 3, False),
    ],
)
def test_severity_from_the_text(text: str, severity: int, down: bool) -> None:
    assert severity_of(text) == (severity, down)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The site is down", "outage"),
        ("Installer fails on upgrade", "installation"),
        ("Reports are slow", "performance"),
        ("Licence activation", "licensing"),
        ("Invoice is wrong", "billing"),
        ("Workflow stopped unexpectedly", "bug"),
        ("How do I export?", "question"),
        ("Hello", "email"),
    ],
)
def test_category_by_keywords(text: str, category: str) -> None:
    assert category_of(text) == category


def test_html_becomes_text_without_scripts_or_tags() -> None:
    html = "<div>Hi<br>It <i>broke</i> &lt;again&gt;</div><style>x{}</style><script>bad()</script>"
    assert html_to_text(html) == "Hi\nIt broke <again>"


def test_wrong_mailed_pins_lock_the_sender_out_like_a_caller(session: Session) -> None:
    factories.account(session, "Acme Corp", contact=("Ann Ops", "+14155550100", "ann@acme.test"))
    factories.account(session, "Globex", contact=("Gil Ops", "+14155550101", "gil@globex.test"))
    session.flush()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    policy = PinPolicy(pepper="test-pepper", lockout_failures=3)
    wrong = hash_pin(policy, "99999999", False)
    outcomes = [
        verify_mailed_pin(session, wrong, "ann@acme.test", now + timedelta(seconds=n), policy)
        for n in range(4)
    ]
    assert [o.outcome for o in outcomes] == [PinOutcome.UNKNOWN] * 3 + [PinOutcome.LOCKED_OUT]
    # Another address on file is not affected.
    other = verify_mailed_pin(session, wrong, "gil@globex.test", now, policy)
    assert other.outcome is PinOutcome.UNKNOWN


def test_guesses_from_ever_new_addresses_share_one_budget(session: Session) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    policy = PinPolicy(pepper="test-pepper", lockout_failures=3)
    wrong = hash_pin(policy, "99999999", False)
    outcomes = [
        verify_mailed_pin(session, wrong, f"guess{n}@evil.test", now, policy).outcome
        for n in range(4)
    ]
    assert outcomes == [PinOutcome.UNKNOWN] * 3 + [PinOutcome.LOCKED_OUT]


def test_control_characters_never_reach_what_is_kept() -> None:
    raw = (
        b"From: a@b.test\r\nSubject: =?utf-8?q?Help=00me?=\r\nMessage-ID: <\x00@x>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nIt broke\x00 again\r\n"
    )
    mail = read(raw)
    assert mail.subject == "Helpme" and mail.text == "It broke again"
    assert "\x00" not in mail.message_id
