"""Models as the API's JSON objects (never a PIN's digits or hash)."""

from __future__ import annotations

from typing import Any

from dashboard.api.base import iso
from dashboard.timeline import HIDDEN_KEYS
from models import Account, CallEvent, Engineer, Licence, Notification, Ticket
from models.users import TicketNote, TicketStatusChange


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket as listed."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "status": ticket.status.value,
        "severity": ticket.severity,
        "category": ticket.category,
        "outcome": ticket.outcome.value if ticket.outcome else None,
        "refusal_reason": ticket.refusal_reason,
        "subject": ticket.subject,
        "account": {"id": ticket.account.id, "name": ticket.account.name}
        if ticket.account
        else None,
        "product": {"id": ticket.product.id, "code": ticket.product.code}
        if ticket.product
        else None,
        "contact_name": ticket.contact_name,
        "contact_phone": ticket.contact_phone,
    }


def event(e: CallEvent) -> dict[str, Any]:
    """A call event with its detail, secrets removed."""
    detail = {k: v for k, v in (e.detail or {}).items() if str(k).lower() not in HIDDEN_KEYS}
    return {"id": e.id, "at": iso(e.at), "kind": e.kind, "call_id": e.call_id, "detail": detail}


def note(n: TicketNote) -> dict[str, Any]:
    """A note or message of the conversation."""
    return {
        "id": n.id,
        "kind": n.kind,
        "author": n.author,
        "body": n.body,
        "created_at": iso(n.created_at),
    }


def status_change(c: TicketStatusChange) -> dict[str, Any]:
    """Who moved a ticket from which status to which, when."""
    return {
        "from": c.from_status.value,
        "to": c.to_status.value,
        "by": c.username,
        "at": iso(c.at),
    }


def notification(n: Notification) -> dict[str, Any]:
    """A notification and its delivery state."""
    return {
        "id": n.id,
        "kind": n.kind,
        "channel": n.channel.value,
        "recipient": n.recipient,
        "status": n.status.value,
        "attempts": n.attempts,
        "created_at": iso(n.created_at),
        "sent_at": iso(n.sent_at),
        "last_error": n.last_error,
    }


def licence(lic: Licence) -> dict[str, Any]:
    """A licence."""
    return {
        "id": lic.id,
        "kind": lic.kind.value,
        "quantity": lic.quantity,
        "issued_at": iso(lic.issued_at),
        "expires_at": iso(lic.expires_at),
    }


def account(a: Account, entitlement: Any) -> dict[str, Any]:
    """An account with its entitlement verdict."""
    return {
        "id": a.id,
        "name": a.name,
        "entitled": entitlement.entitled,
        "entitlement_reason": entitlement.reason,
        "support_licences": entitlement.support_licences,
        "user_licences": entitlement.user_licences,
    }


def engineer(e: Engineer) -> dict[str, Any]:
    """An engineer."""
    return {
        "id": e.id,
        "name": e.name,
        "phone": e.phone,
        "email": e.email,
        "timezone": e.timezone,
        "active": e.active,
    }
