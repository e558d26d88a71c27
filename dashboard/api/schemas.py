"""The API's request and response shapes: they validate input, serialise output and are the
OpenAPI document's schemas, so the three cannot drift apart.

Enumerations come from the models' own Enum classes; responses never carry a PIN's digits or
hash except `IssuedPin`, the one answer that shows a new PIN once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

import models as db
from dashboard.queries import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    SORTS,
    Answered,
    TicketFigures,
    TicketFilter,
)
from dashboard.ticket_actions import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SUBJECT_LENGTH,
    NoteKind,
    TicketField,
)
from dashboard.timeline import HIDDEN_KEYS
from entitlement import Entitlement, PinSummary
from entitlement import IssuedPin as IssuedPinValue
from models import (
    LicenceKind,
    NotificationChannel,
    NotificationStatus,
    PinKind,
    TicketOutcome,
    TicketStatus,
)
from models.users import TicketFieldChange, TicketNote, TicketStatusChange
from tickets.sla import SlaState

PIN_SHOWN_ONCE = "Shown once: it is stored only as a hash."


class Shape(BaseModel):
    """A response shape: every field is always sent, and no other."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )


class Input(BaseModel):
    """A request shape: a field the API does not know is refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- errors -------------------------------------------------------------------------------------


class ErrorDetail(Shape):
    # `fields` is left out when no field is at fault.
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    status: int
    message: str
    fields: dict[str, str] | None = Field(
        default=None, description="For bad input: each field at fault and what is wrong with it."
    )


class Error(Shape):
    """Every 4xx answer."""

    error: ErrorDetail


# --- tickets ------------------------------------------------------------------------------------


class AccountRef(Shape):
    id: int
    name: str


class ProductRef(Shape):
    id: int
    code: str


class TicketSummary(Shape):
    """A ticket as listed."""

    id: int
    number: str = Field(examples=["HL-000123"])
    created_at: datetime
    updated_at: datetime
    status: TicketStatus
    severity: int | None
    category: str
    outcome: TicketOutcome | None
    refusal_reason: str | None
    subject: str
    account: AccountRef | None
    product: ProductRef | None
    contact_name: str | None
    contact_phone: str | None
    missed: bool = Field(description="Severity 1 and no engineer accepted any of its calls.")
    calls: int = Field(description="How many calls the ticket holds.")
    answered_by: str | None = Field(description="Engineers who took its calls, comma-separated.")
    seconds_to_first_ring: int | None = Field(
        description="From the start of its first call that rang to an engineer phone ringing."
    )
    seconds_to_connect: int | None = Field(
        description="From the start of its first answered call to an engineer taking it."
    )
    response_due_at: datetime | None = Field(
        description="Severity 2-4 messages: support responds by then (the severity's target)."
    )
    assignee: str | None = Field(description="Who owns the ticket (user or engineer name).")
    open_tasks: int = Field(description="Promises to the customer not yet kept (callbacks etc.).")
    sla_state: SlaState = Field(
        description="none: nothing promised; on_track; at_risk: an open task nobody acknowledged "
        "is past its reminder; breached: an open task is past its due time; met: every task kept "
        "in time; late: every task kept, one after its due time."
    )
    next_due_at: datetime | None = Field(description="The earliest due time of the open tasks.")

    @classmethod
    def of(cls, ticket: db.Ticket, figures: TicketFigures) -> TicketSummary:
        """The summary of a ticket (its account and product loaded) with its call figures."""
        return cls(**_summary_fields(ticket, figures))


def _summary_fields(ticket: db.Ticket, figures: TicketFigures) -> dict[str, Any]:
    account, product = ticket.account, ticket.product
    return {
        "id": ticket.id,
        "number": ticket.number,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "status": ticket.status,
        "severity": ticket.severity,
        "category": ticket.category,
        "outcome": ticket.outcome,
        "refusal_reason": ticket.refusal_reason,
        "subject": ticket.subject,
        "account": AccountRef(id=account.id, name=account.name) if account else None,
        "product": ProductRef(id=product.id, code=product.code) if product else None,
        "contact_name": ticket.contact_name,
        "contact_phone": ticket.contact_phone,
        "missed": ticket.outcome is db.TicketOutcome.MISSED,
        "calls": figures.calls,
        "answered_by": figures.answered_by,
        "seconds_to_first_ring": figures.seconds_to_first_ring,
        "seconds_to_connect": figures.seconds_to_connect,
        "response_due_at": ticket.response_due_at,
        "assignee": ticket.assignee_name,
        "open_tasks": figures.sla.open_tasks,
        "sla_state": figures.sla.state,
        "next_due_at": figures.sla.next_due_at,
    }


class CallRecord(Shape):
    """One call on a ticket, with its own outcome and figures."""

    id: int
    caller: str
    started_at: datetime
    ended_at: datetime | None
    product: ProductRef | None
    pin_kind: db.PinKind | None
    outcome: db.CallOutcome | None
    answered_by: str | None
    seconds_to_first_ring: int | None
    seconds_to_connect: int | None
    elevated_access_until: datetime | None

    @classmethod
    def of(cls, call: db.Call) -> CallRecord:
        product = call.product
        return cls(
            id=call.id,
            caller=call.from_number,
            started_at=call.started_at,
            ended_at=call.ended_at,
            product=ProductRef(id=product.id, code=product.code) if product else None,
            pin_kind=call.pin_kind,
            outcome=call.outcome,
            answered_by=call.answered_by,
            seconds_to_first_ring=call.seconds_to_first_ring,
            seconds_to_connect=call.seconds_to_connect,
            elevated_access_until=call.elevated_access_until,
        )


class TaskRecord(Shape):
    """A promise on a ticket (call back, answer a message) with its timers and who kept it."""

    id: int
    kind: db.TaskKind
    state: db.TaskState
    stage: db.TaskStage = Field(description="How far its timers ran: notified, escalated, overdue.")
    title: str
    callback_number: str | None
    created_at: datetime
    remind_at: datetime = Field(description="Not acknowledged by then: the next level is texted.")
    due_at: datetime = Field(description="Not done by then: managers are alerted.")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    done_at: datetime | None
    done_by: str | None
    resolution: str | None

    @classmethod
    def of(cls, task: db.Task) -> TaskRecord:
        return cls(
            id=task.id,
            kind=task.kind,
            state=task.state,
            stage=task.stage,
            title=task.title,
            callback_number=task.callback_number,
            created_at=task.created_at,
            remind_at=task.remind_at,
            due_at=task.due_at,
            acknowledged_at=task.acknowledged_at,
            acknowledged_by=task.acknowledged_by,
            done_at=task.done_at,
            done_by=task.done_by,
            resolution=task.resolution,
        )


class TicketPage(Shape):
    tickets: list[TicketSummary]
    total: int = Field(description="Matches counted, up to a cap (see total_is_capped).")
    total_is_capped: bool
    page: int
    per_page: int


class CallEvent(Shape):
    """A call event with its detail, secrets removed."""

    id: int
    at: datetime
    kind: str
    call_id: int | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: db.CallEvent) -> CallEvent:
        """The event without the detail keys that could hold digits a caller typed."""
        detail = {
            k: v for k, v in (event.detail or {}).items() if str(k).lower() not in HIDDEN_KEYS
        }
        return cls(id=event.id, at=event.at, kind=event.kind, call_id=event.call_id, detail=detail)


class Note(Shape):
    """A note or message of the conversation."""

    id: int
    kind: NoteKind
    author: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, note: TicketNote) -> Note:
        return cls(
            id=note.id,
            kind=NoteKind(note.kind),
            author=note.author,
            body=note.body,
            created_at=note.created_at,
        )


class StatusChange(Shape):
    """Who moved a ticket from which status to which, when."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_serialization_defaults_required=True,
    )

    from_: TicketStatus = Field(alias="from")
    to: TicketStatus
    by: str
    at: datetime

    @classmethod
    def of(cls, change: TicketStatusChange) -> StatusChange:
        return cls(from_=change.from_status, to=change.to_status, by=change.username, at=change.at)


class FieldChange(Shape):
    """Who changed which detail of a ticket from what to what, when."""

    field: TicketField
    old: str
    new: str
    by: str
    at: datetime

    @classmethod
    def of(cls, change: TicketFieldChange) -> FieldChange:
        return cls(
            field=TicketField(change.field),
            old=change.old_value,
            new=change.new_value,
            by=change.username,
            at=change.at,
        )


class Notification(Shape):
    """A notification and its delivery state."""

    id: int
    kind: str
    channel: NotificationChannel
    recipient: str
    status: NotificationStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, n: db.Notification) -> Notification:
        return cls(
            id=n.id,
            kind=n.kind,
            channel=n.channel,
            recipient=n.recipient,
            status=n.status,
            attempts=n.attempts,
            created_at=n.created_at,
            sent_at=n.sent_at,
            last_error=n.last_error,
        )


class Ticket(TicketSummary):
    """One ticket with its timeline, conversation, status history and notifications."""

    description: str
    call_records: list[CallRecord]
    tasks: list[TaskRecord]
    events: list[CallEvent]
    notes: list[Note]
    status_changes: list[StatusChange]
    field_changes: list[FieldChange]
    notifications: list[Notification]

    @classmethod
    def of_ticket(
        cls,
        ticket: db.Ticket,
        notes: Iterable[TicketNote],
        changes: Iterable[TicketStatusChange],
        notifications: Iterable[db.Notification],
        figures: TicketFigures,
        field_changes: Iterable[TicketFieldChange] = (),
        tasks: Iterable[db.Task] = (),
    ) -> Ticket:
        """The whole ticket; its events come from the ticket, the rest as given in order."""
        return cls(
            **_summary_fields(ticket, figures),
            description=ticket.description,
            call_records=[CallRecord.of(call) for call in ticket.calls],
            tasks=[TaskRecord.of(task) for task in tasks],
            events=[CallEvent.of(e) for e in ticket.events],
            notes=[Note.of(n) for n in notes],
            status_changes=[StatusChange.of(c) for c in changes],
            field_changes=[FieldChange.of(c) for c in field_changes],
            notifications=[Notification.of(n) for n in notifications],
        )


def _sort_known(value: str) -> str:
    if value not in SORTS:
        raise ValueError("must be one of " + ", ".join(SORTS))
    return value


Sort = Annotated[
    str,
    AfterValidator(_sort_known),
    Field(json_schema_extra={"enum": list(SORTS)}),
]


class TicketQuery(Input):
    """The ticket list's search and filters, as query-string arguments."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    q: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        default="",
        description="Keyword: subject, description (transcription), account, caller number or "
        "ticket number (HL-000123).",
    )
    status: TicketStatus | None = None
    severity: int | None = Field(default=None, ge=1, le=4)
    category: str | None = None
    product: int | None = Field(default=None, ge=1, description="Product id")
    account: int | None = Field(default=None, ge=1, description="Account id")
    outcome: TicketOutcome | None = None
    answered: Answered | None = Field(
        default=None, description="yes: an engineer took one of its calls; no: none did."
    )
    sla: SlaState | None = Field(default=None, description="Tickets in this SLA state now.")
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    sort: Sort = "newest"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    def to_filter(self) -> TicketFilter:
        """The same filter the dashboard's ticket list uses."""
        return TicketFilter(
            q=self.q[:200],
            status=self.status,
            severity=self.severity,
            category=(self.category or "").strip() or None,
            product_id=self.product,
            account_id=self.account,
            outcome=self.outcome,
            answered=self.answered,
            sla=self.sla,
            date_from=self.date_from,
            date_to=self.date_to,
            sort=self.sort,
            page=self.page,
            per_page=self.per_page,
        )


class TicketUpdate(Input):
    """Change a ticket's status; with pending, an optional question emailed to the customer."""

    status: TicketStatus
    question: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        default="", description="With status pending: what support needs from the customer."
    )


class TicketDetailsUpdate(Input):
    """Change a ticket's severity, category, subject or description (each change recorded)."""

    severity: int | None = Field(default=None, ge=1, le=4)
    category: str | None = Field(default=None, description="One of the dashboard's categories.")
    subject: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUBJECT_LENGTH),
        ]
        | None
    ) = None
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH)] | None = None

    def wanted(self) -> dict[TicketField, str]:
        """The fields given, as the text edit_fields takes."""
        given = {
            TicketField.SEVERITY: None if self.severity is None else str(self.severity),
            TicketField.CATEGORY: self.category,
            TicketField.SUBJECT: self.subject,
            TicketField.DESCRIPTION: self.description,
        }
        return {field: value for field, value in given.items() if value is not None}


class TicketAssign(Input):
    """Give a ticket to a dashboard user (their id), or to nobody (null)."""

    user_id: Annotated[int, Field(ge=1)] | None


class NoteCreate(Input):
    """A note (or a message) to add to a ticket's conversation."""

    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_LENGTH)
    ]
    kind: NoteKind = NoteKind.NOTE


# --- accounts, licences, PINs -------------------------------------------------------------------


class Account(Shape):
    """An account with its entitlement verdict."""

    id: int
    name: str
    entitled: bool
    entitlement_reason: str | None
    support_licences: int
    user_licences: int

    @classmethod
    def of(cls, account: db.Account, verdict: Entitlement) -> Account:
        return cls(**_account_fields(account, verdict))


def _account_fields(account: db.Account, verdict: Entitlement) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "entitled": verdict.entitled,
        "entitlement_reason": verdict.reason,
        "support_licences": verdict.support_licences,
        "user_licences": verdict.user_licences,
    }


class AccountList(Shape):
    accounts: list[Account]


class AccountQuery(Input):
    model_config = ConfigDict(extra="ignore", frozen=True)

    q: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        default="", description="Only accounts whose name contains this."
    )


class Licence(Shape):
    id: int
    kind: LicenceKind
    quantity: int
    issued_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, lic: db.Licence) -> Licence:
        return cls(
            id=lic.id,
            kind=lic.kind,
            quantity=lic.quantity,
            issued_at=lic.issued_at,
            expires_at=lic.expires_at,
        )


class LicenceList(Shape):
    licences: list[Licence]


class Product(Shape):
    id: int
    code: str
    name: str

    @classmethod
    def of(cls, product: db.Product) -> Product:
        return cls(id=product.id, code=product.code, name=product.name)


class AccountDetail(Account):
    """One account with its entitlement, licences and products."""

    licences: list[Licence]
    products: list[Product]

    @classmethod
    def of_account(cls, account: db.Account, verdict: Entitlement) -> AccountDetail:
        return cls(
            **_account_fields(account, verdict),
            licences=[Licence.of(lic) for lic in account.licences],
            products=[Product.of(p) for p in account.products],
        )


class LicenceCreate(Input):
    """Issue licences of a kind, with an optional term in days."""

    kind: LicenceKind
    quantity: int = Field(ge=1)
    days: int | None = Field(default=None, ge=1, description="Term; default the policy's.")


class Pin(Shape):
    """A PIN's state; never its digits."""

    id: int
    kind: PinKind
    status: str = Field(examples=["active", "used", "expired", "cleared"])
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    cleared_at: datetime | None

    @classmethod
    def of(cls, pin: PinSummary) -> Pin:
        return cls(
            id=pin.id,
            kind=pin.kind,
            status=pin.status,
            created_at=pin.created_at,
            expires_at=pin.expires_at,
            used_at=pin.used_at,
            cleared_at=pin.cleared_at,
        )


class PinList(Shape):
    pins: list[Pin]


class PinAction(str, Enum):
    """What a manager can do to an account's PINs: renew the standing one, issue one, clear."""

    RENEW = "renew"
    STANDING = PinKind.STANDING.value
    ONE_TIME = PinKind.ONE_TIME.value
    PRIVILEGED = PinKind.PRIVILEGED.value
    CLEAR = "clear"


class PinRequest(Input):
    action: PinAction
    expires_in_days: int | None = Field(default=None, ge=1)


class IssuedPin(Shape):
    """The digits are in this answer only."""

    id: int
    kind: PinKind
    pin: str
    keypad: str = Field(description="What the caller types ('*' first for a privileged PIN).")
    expires_at: datetime | None
    note: str = Field(examples=[PIN_SHOWN_ONCE])

    @classmethod
    def of(cls, issued: IssuedPinValue) -> IssuedPin:
        return cls(
            id=issued.pin.id,
            kind=issued.pin.kind,
            pin=issued.display,
            keypad=issued.keypad_entry,
            expires_at=issued.pin.expires_at,
            note=PIN_SHOWN_ONCE,
        )


class ClearedPins(Shape):
    cleared: list[int] = Field(description="Ids of the PINs that stopped working.")


# --- engineers ----------------------------------------------------------------------------------


class Engineer(Shape):
    id: int
    name: str
    phone: str
    email: str | None
    timezone: str
    active: bool

    @classmethod
    def of(cls, e: db.Engineer) -> Engineer:
        return cls(
            id=e.id, name=e.name, phone=e.phone, email=e.email, timezone=e.timezone, active=e.active
        )


class EngineerList(Shape):
    engineers: list[Engineer]
