"""The ticket list's search, filters, sorting and pagination, shared by pages, CSV and API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from dashboard.timefmt import DEFAULT_ZONE, valid_zone
from kernel.db import bitmap_scans_only
from models import (
    Account,
    Call,
    CallOutcome,
    Product,
    Task,
    Ticket,
    TicketOutcome,
    TicketStatus,
    parse_ticket_number,
    utcnow,
)
from tickets.sla import SlaState, SlaSummary, sla_clause, summarize

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Counting every match of a broad search on 100k rows is the slow part; stop counting here.
COUNT_CAP = 1000
# Tickets a search by an engineer's name may find through the calls they answered.
ANSWERED_CAP = 1000
# A search matching at most this many tickets is listed from their ids, found first.
SEARCH_CAP = 1000
# What a typed phone number may hold besides digits: "+1 (555) 123-4567", "555.123.4567".
PHONE_CHARACTERS = frozenset("+0123456789 -().")
# Deep offsets are slow and nobody reads page 400; narrow the search instead.
MAX_PAGE = 200
MAX_TICKET_ID = 2**31 - 1
FIGURES_CHUNK = 500
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(9999, 12, 30)

SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "oldest": (Ticket.created_at.asc(), Ticket.id.asc()),
    # Severity 1 first and unclassified last (SQLite would put NULL first on its own).
    "severity": (Ticket.severity.asc().nulls_last(), Ticket.created_at.desc(), Ticket.id.desc()),
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
}


class Answered(str, Enum):
    """Whether any call of the ticket reached an engineer."""

    YES = "yes"
    NO = "no"


class FilterError(ValueError):
    """A filter value that cannot be understood; the message names it."""


# Where tickets come from (Ticket.channel).
CHANNELS = ("phone", "portal", "email")


@dataclass
class TicketFilter:
    """What the manager asked to see."""

    q: str = ""
    status: TicketStatus | None = None
    severity: int | None = None
    category: str | None = None
    # How tickets came in: phone, portal or email.
    channel: str | None = None
    product_id: int | None = None
    account_id: int | None = None
    outcome: TicketOutcome | None = None
    answered: Answered | None = None
    sla: SlaState | None = None
    date_from: date | None = None
    date_to: date | None = None
    # The time zone whose days `date_from` and `date_to` name (links from a zoned page set it).
    zone: str = DEFAULT_ZONE
    sort: str = "newest"
    page: int = 1
    per_page: int = PAGE_SIZE
    errors: list[str] = field(default_factory=list)
    # "My tickets": owned by this user or by the engineer this user is (set by the page, not args).
    mine_user_id: int | None = None
    mine_engineer_id: int | None = None

    def args(self, **overrides: Any) -> dict[str, Any]:
        """The query-string arguments that reproduce this filter (for links and CSV)."""
        values: dict[str, Any] = {
            "q": self.q or None,
            "status": self.status.value if self.status else None,
            "severity": self.severity,
            "category": self.category,
            "channel": self.channel,
            "product": self.product_id,
            "account": self.account_id,
            "outcome": self.outcome.value if self.outcome else None,
            "answered": self.answered.value if self.answered else None,
            "sla": self.sla.value if self.sla else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "tz": self.zone if self.zone != DEFAULT_ZONE else None,
            "sort": self.sort if self.sort != "newest" else None,
            "page": self.page if self.page != 1 else None,
            "per_page": self.per_page if self.per_page != PAGE_SIZE else None,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value not in (None, "")}


def _int(
    raw: str | None, name: str, errors: list[str], low: int = 1, high: int = 10**9
) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.append(f"{name} must be a whole number")
        return None
    if not low <= value <= high:
        errors.append(f"{name} must be from {low} to {high}")
        return None
    return value


def _date(raw: str | None, name: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{name} must be a date like 2026-01-31")
        return None
    # Days at the ends of the calendar have no start or end in every zone.
    if not FIRST_DATE <= value <= LAST_DATE:
        errors.append(f"{name} must be from {FIRST_DATE.year} to {LAST_DATE.year}")
        return None
    return value


def parse_filter(args: Mapping[str, str]) -> TicketFilter:
    """A TicketFilter from query-string arguments; bad values are listed in `errors`."""
    errors: list[str] = []
    status = args.get("status") or None
    outcome = args.get("outcome") or None
    if status and status not in {s.value for s in TicketStatus}:
        errors.append("status must be one of " + ", ".join(s.value for s in TicketStatus))
        status = None
    if outcome and outcome not in {o.value for o in TicketOutcome}:
        errors.append("outcome must be one of " + ", ".join(o.value for o in TicketOutcome))
        outcome = None
    answered = (args.get("answered") or "").strip() or None
    if answered and answered not in {a.value for a in Answered}:
        errors.append("answered must be yes or no")
        answered = None
    sla = (args.get("sla") or "").strip() or None
    if sla and sla not in {state.value for state in SlaState}:
        errors.append("sla must be one of " + ", ".join(state.value for state in SlaState))
        sla = None
    zone = (args.get("tz") or "").strip() or DEFAULT_ZONE
    if valid_zone(zone) is None:
        errors.append("tz must be a time zone like Europe/Paris")
        zone = DEFAULT_ZONE
    channel = (args.get("channel") or "").strip() or None
    if channel and channel not in CHANNELS:
        errors.append("channel must be one of " + ", ".join(CHANNELS))
        channel = None
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        errors.append("sort must be one of " + ", ".join(SORTS))
        sort = "newest"
    return TicketFilter(
        q=(args.get("q") or "").strip()[:200],
        status=TicketStatus(status) if status else None,
        severity=_int(args.get("severity"), "severity", errors, 1, 4),
        category=(args.get("category") or "").strip() or None,
        channel=channel,
        product_id=_int(args.get("product"), "product", errors),
        account_id=_int(args.get("account"), "account", errors),
        outcome=TicketOutcome(outcome) if outcome else None,
        answered=Answered(answered) if answered else None,
        sla=SlaState(sla) if sla else None,
        date_from=_date(args.get("from"), "from", errors),
        date_to=_date(args.get("to"), "to", errors),
        zone=zone,
        sort=sort,
        page=_int(args.get("page"), "page", errors, 1, MAX_PAGE) or 1,
        per_page=_int(args.get("per_page"), "per_page", errors, 1, MAX_PAGE_SIZE) or PAGE_SIZE,
        errors=errors,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_clause(session: Session, q: str) -> Any:
    """Match the keyword in the ticket's text, account, answering engineer, caller or number."""
    pattern = f"%{_escape_like(q)}%"
    # Account ids are looked up first: a literal id list keeps every OR arm index-backed.
    account_ids = session.scalars(
        select(Account.id).where(Account.name.ilike(pattern, escape="\\")).limit(500)
    ).all()
    clauses: list[Any] = [
        Ticket.subject.ilike(pattern, escape="\\"),
        # The description holds the voicemail transcription when there is one.
        Ticket.description.ilike(pattern, escape="\\"),
    ]
    if account_ids:
        clauses.append(Ticket.account_id.in_(account_ids))
    # Searching an engineer's name finds the tickets whose calls they answered. Looked up first,
    # like the accounts: a subquery inside the OR would stop PostgreSQL combining the trigram
    # indexes and scan every ticket. The newest ANSWERED_CAP tickets are enough to list.
    answered = session.scalars(
        select(Call.ticket_id)
        .where(Call.answered_by.ilike(pattern, escape="\\"))
        .order_by(Call.ticket_id.desc())
        .limit(ANSWERED_CAP)
    ).all()
    if answered:
        clauses.append(Ticket.id.in_(set(answered)))
    digits = phone_digits(q)
    if digits is not None:
        # Callers' numbers are stored in E.164, so the typed digits are a substring of them.
        clauses.append(Ticket.contact_phone.like(f"%{digits}%"))
    ticket_id = parse_ticket_number(q)
    # Ids are 32-bit on PostgreSQL: a longer number is a phone number, not a ticket.
    if ticket_id is not None and ticket_id <= MAX_TICKET_ID:
        clauses.append(Ticket.id == ticket_id)
    clause = or_(*clauses)
    ids = _narrow_matches(session, clause)
    return clause if ids is None else Ticket.id.in_(ids)


def phone_digits(q: str) -> str | None:
    """The digits to look for in callers' E.164 numbers when `q` is a (partial) phone number.

    "+1 (555) 123-4567", "555.123.4567" and "4567" give their digits; an international "00"
    prefix is dropped ("0044 20 7946 0958" is +44...), and so is a national trunk "0" before a
    whole number ("020 7946 0958" is stored as +44 20 7946 0958). None: not a phone number.
    """
    text = q.strip()
    if not text or not set(text) <= PHONE_CHARACTERS:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith("00") and not text.startswith("+"):
        digits = digits[2:]
    elif digits.startswith("0") and len(digits) >= 9 and not text.startswith("+"):
        digits = digits[1:]
    return digits if len(digits) >= 3 else None


def _narrow_matches(session: Session, clause: Any) -> list[int] | None:
    """Every ticket id the search `clause` matches when there are at most SEARCH_CAP, else None.

    A narrow search is then listed and counted from its ids alone. Left to itself, PostgreSQL
    prices a substring match per row far below its cost: asked for the newest 50 of 100 matches
    it walks the created_at index through 60,000 rows, or scans the table to count them, each
    200-400 ms at 100,000 tickets, whenever a statistics sample makes 1 % look likely (a
    histogram bound holding the typed digits, say). Here it may use only its bitmap scans, so
    the trigram indexes answer the substring match in a bounded 10-30 ms, broad or narrow. A
    broad search keeps the index walk, which is quick when matches are everywhere.
    """
    with bitmap_scans_only(session):
        ids = session.scalars(select(Ticket.id).where(clause).limit(SEARCH_CAP + 1)).all()
    return list(ids) if len(ids) <= SEARCH_CAP else None


def _day_start(day: date, zone: str) -> datetime:
    """The instant `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)


def filtered(session: Session, flt: TicketFilter, now: datetime | None = None) -> Select[Ticket]:
    """The SELECT of tickets matching `flt` (SLA states as of `now`), unordered and unpaged."""
    stmt = select(Ticket)
    if flt.q:
        stmt = stmt.where(_search_clause(session, flt.q))
    if flt.status:
        stmt = stmt.where(Ticket.status == flt.status)
    mine = [Ticket.assignee_user_id == flt.mine_user_id] if flt.mine_user_id else []
    if flt.mine_engineer_id is not None:
        mine.append(Ticket.assignee_engineer_id == flt.mine_engineer_id)
    if mine:
        stmt = stmt.where(or_(*mine))
    if flt.severity is not None:
        stmt = stmt.where(Ticket.severity == flt.severity)
    if flt.category:
        stmt = stmt.where(Ticket.category == flt.category)
    if flt.channel:
        stmt = stmt.where(Ticket.channel == flt.channel)
    if flt.product_id is not None:
        stmt = stmt.where(Ticket.product_id == flt.product_id)
    if flt.account_id is not None:
        stmt = stmt.where(Ticket.account_id == flt.account_id)
    if flt.outcome:
        stmt = stmt.where(Ticket.outcome == flt.outcome)
    if flt.answered is not None:
        connected = select(Call.ticket_id).where(Call.outcome == CallOutcome.CONNECTED)
        if flt.answered is Answered.YES:
            stmt = stmt.where(Ticket.id.in_(connected))
        else:
            stmt = stmt.where(Ticket.id.not_in(connected))
    if flt.sla is not None:
        stmt = stmt.where(sla_clause(flt.sla, now or utcnow()))
    if flt.date_from:
        stmt = stmt.where(Ticket.created_at >= _day_start(flt.date_from, flt.zone))
    if flt.date_to:
        end = _day_start(flt.date_to + timedelta(days=1), flt.zone)
        stmt = stmt.where(Ticket.created_at < end)
    return stmt


NOTHING_PROMISED = SlaSummary(SlaState.NONE, 0, None)


@dataclass(frozen=True)
class TicketFigures:
    """A ticket's calls and tasks as the list shows them: who answered, how fast, what is owed."""

    calls: int = 0
    answered_by: str | None = None
    seconds_to_first_ring: int | None = None
    seconds_to_connect: int | None = None
    sla: SlaSummary = NOTHING_PROMISED


def ticket_figures(
    session: Session, ticket_ids: Iterable[int], now: datetime | None = None
) -> dict[int, TicketFigures]:
    """The call and task figures of each ticket in `ticket_ids` (two queries per 500 tickets).

    Times are per call, from that call's start: the first call that rang gives the time to
    first ring, the first call an engineer took gives the time to connect. The SLA state is
    as of `now`.
    """
    now = now or utcnow()
    ids = list(ticket_ids)
    by_ticket: dict[int, list[Call]] = {ticket_id: [] for ticket_id in ids}
    tasks_of: dict[int, list[Task]] = {ticket_id: [] for ticket_id in ids}
    # In chunks: a CSV export asks for tens of thousands of tickets at once.
    for start in range(0, len(ids), FIGURES_CHUNK):
        chunk = ids[start : start + FIGURES_CHUNK]
        rows = session.scalars(
            select(Call).where(Call.ticket_id.in_(chunk)).order_by(Call.started_at, Call.id)
        )
        for call in rows:
            by_ticket[call.ticket_id].append(call)
        for task in session.scalars(select(Task).where(Task.ticket_id.in_(chunk))):
            tasks_of[task.ticket_id].append(task)
    figures = {}
    for ticket_id, calls in by_ticket.items():
        rang = [c.seconds_to_first_ring for c in calls if c.seconds_to_first_ring is not None]
        taken = [c.seconds_to_connect for c in calls if c.seconds_to_connect is not None]
        names = list(dict.fromkeys(c.answered_by for c in calls if c.answered_by))
        figures[ticket_id] = TicketFigures(
            calls=len(calls),
            answered_by=", ".join(names) or None,
            seconds_to_first_ring=rang[0] if rang else None,
            seconds_to_connect=taken[0] if taken else None,
            sla=summarize(tasks_of[ticket_id], now),
        )
    return figures


@dataclass(frozen=True)
class TicketPage:
    """One page of matching tickets and how many there are (up to COUNT_CAP)."""

    tickets: list[Ticket]
    total: int
    capped: bool
    page: int
    per_page: int
    figures: dict[int, TicketFigures] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages the (possibly capped) total fills."""
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))


def ticket_page(session: Session, flt: TicketFilter, now: datetime | None = None) -> TicketPage:
    """The page of tickets `flt` asks for, with accounts and products loaded."""
    now = now or utcnow()
    base = filtered(session, flt, now)
    count_stmt = select(func.count()).select_from(
        base.with_only_columns(Ticket.id).limit(COUNT_CAP + 1).subquery()
    )
    total = session.scalar(count_stmt) or 0
    rows = session.scalars(
        base.options(joinedload(Ticket.account), joinedload(Ticket.product))
        .order_by(*SORTS[flt.sort])
        .limit(flt.per_page)
        .offset((flt.page - 1) * flt.per_page)
    ).all()
    return TicketPage(
        tickets=list(rows),
        figures=ticket_figures(session, [ticket.id for ticket in rows], now),
        total=min(total, COUNT_CAP),
        capped=total > COUNT_CAP,
        page=flt.page,
        per_page=flt.per_page,
    )


def filter_choices(session: Session) -> dict[str, Any]:
    """Values for the filter drop-downs."""
    return {
        "statuses": [s.value for s in TicketStatus],
        "outcomes": [o.value for o in TicketOutcome],
        "answered": [a.value for a in Answered],
        "sla": [state.value for state in SlaState],
        "products": session.execute(select(Product.id, Product.name).order_by(Product.name)).all(),
        "accounts": session.execute(select(Account.id, Account.name).order_by(Account.name)).all(),
        "categories": session.scalars(
            select(Ticket.category).distinct().order_by(Ticket.category).limit(50)
        ).all(),
        "sorts": list(SORTS),
    }
