"""The entitlement rule at its edges, and the reasons a refused caller hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from directory import create_account
from entitlement import LicenceError, check_entitlement, issue_licence, spoken_date
from models import Account, LicenceKind

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
USER, SUPPORT = LicenceKind.USER, LicenceKind.SUPPORT


@pytest.fixture
def account(session: Session) -> Account:
    return create_account(session, "Acme")


# Each licence: (kind, quantity, issued this long after T0, term in days or None for the default).
CASES = [
    pytest.param([], T0, False, "this account has no support licences", id="none-at-all"),
    pytest.param(
        [(USER, 3, timedelta(0), None)],
        T0,
        False,
        "this account has no support licences",
        id="only-user-licences",
    ),
    pytest.param([(SUPPORT, 1, timedelta(0), None)], T0, True, None, id="one-support-no-users"),
    pytest.param(
        [(USER, 10, timedelta(0), None), (SUPPORT, 10, timedelta(0), None)],
        T0 + DAY,
        True,
        None,
        id="equal-counts",
    ),
    pytest.param(
        [(USER, 12, timedelta(0), None), (SUPPORT, 10, timedelta(0), None)],
        T0 + DAY,
        False,
        "you have 12 user licences but only 10 current support licences",
        id="short-by-two",
    ),
    pytest.param(
        [(USER, 2, timedelta(0), None), (SUPPORT, 1, timedelta(0), None)],
        T0,
        False,
        "you have 2 user licences but only 1 current support licence",
        id="short-by-one-singular",
    ),
    pytest.param(
        [(SUPPORT, 1, timedelta(0), None)],
        T0 + 365 * DAY - timedelta(microseconds=1),
        True,
        None,
        id="just-before-expiry-instant",
    ),
    pytest.param(
        [(SUPPORT, 1, timedelta(0), None)],
        T0 + 365 * DAY,
        False,
        "your support licences expired on 3 March 2027",
        id="at-expiry-instant",
    ),
    pytest.param(
        [(SUPPORT, 1, timedelta(0), 30)],
        T0 + 30 * DAY,
        False,
        "your support licences expired on 2 April 2026",
        id="custom-term-expired",
    ),
    pytest.param(
        [(USER, 5, timedelta(0), 30), (SUPPORT, 1, timedelta(0), None)],
        T0 + 60 * DAY,
        True,
        None,
        id="expired-user-licences-do-not-count",
    ),
    pytest.param(
        [(USER, 5, timedelta(0), 30), (SUPPORT, 1, timedelta(0), None)],
        T0 + 29 * DAY,
        False,
        "you have 5 user licences but only 1 current support licence",
        id="unexpired-user-licences-count",
    ),
    pytest.param(
        [(USER, 5, timedelta(0), None), (SUPPORT, 5, timedelta(0), 10), (SUPPORT, 5, DAY, 20)],
        T0 + 40 * DAY,
        False,
        "your support licences expired on 24 March 2026",
        id="all-expired-names-latest-expiry",
    ),
    pytest.param(
        [(USER, 4, timedelta(0), None), (SUPPORT, 4, timedelta(0), 10), (SUPPORT, 4, 9 * DAY, 30)],
        T0 + 12 * DAY,
        True,
        None,
        id="renewed-before-old-expired",
    ),
    pytest.param(
        [(USER, 4, timedelta(0), None), (SUPPORT, 2, timedelta(0), None), (SUPPORT, 2, DAY, None)],
        T0 + 2 * DAY,
        True,
        None,
        id="support-summed-across-licences",
    ),
    pytest.param(
        [(SUPPORT, 1, 10 * DAY, None)],
        T0,
        False,
        "your support licences start on 13 March 2026",
        id="not-started-yet",
    ),
]


@pytest.mark.parametrize(("licences", "now", "entitled", "reason"), CASES)
def test_entitlement_table(
    session: Session,
    account: Account,
    licences: list[tuple[LicenceKind, int, timedelta, int | None]],
    now: datetime,
    entitled: bool,
    reason: str | None,
) -> None:
    for kind, quantity, after, term in licences:
        issue_licence(session, account, kind, quantity, T0 + after, term_days=term)
    verdict = check_entitlement(session, account, now)
    assert (verdict.entitled, verdict.reason) == (entitled, reason)


def test_support_licence_term_follows_the_setting(session: Session, account: Account) -> None:
    licence = issue_licence(session, account, SUPPORT, 1, T0, support_licence_days=90)
    assert licence.expires_at == T0 + 90 * DAY
    assert check_entitlement(session, account, T0 + 89 * DAY).entitled
    assert not check_entitlement(session, account, T0 + 90 * DAY).entitled


def test_user_licences_never_expire_unless_given_a_term(session: Session, account: Account) -> None:
    assert issue_licence(session, account, USER, 3, T0).expires_at is None
    assert issue_licence(session, account, USER, 3, T0, term_days=7).expires_at == T0 + 7 * DAY


@pytest.mark.parametrize(
    ("quantity", "term", "message"),
    [
        pytest.param(0, None, "quantity must be at least 1", id="zero-quantity"),
        pytest.param(-2, None, "quantity must be at least 1", id="negative-quantity"),
        pytest.param(1, 0, "at least 1 day", id="zero-term"),
    ],
)
def test_bad_licences_are_refused(
    session: Session, account: Account, quantity: int, term: int | None, message: str
) -> None:
    with pytest.raises(LicenceError, match=message):
        issue_licence(session, account, SUPPORT, quantity, T0, term_days=term)


@pytest.mark.parametrize(
    ("moment", "spoken"),
    [
        pytest.param(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), "3 March 2026", id="plain"),
        pytest.param(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "31 December 2026", id="year-end"),
        pytest.param(
            datetime(2026, 3, 3, 23, 30, tzinfo=UTC).astimezone(
                __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
            ),
            "3 March 2026",
            id="spoken-in-utc",
        ),
    ],
)
def test_spoken_date(moment: datetime, spoken: str) -> None:
    assert spoken_date(moment) == spoken
