"""A ticket's conversation with the customer: messages from any channel, each notifying
the other side (the customer by email; staff by email, and the assignee by SMS at severity 2).

Internal staff notes are not part of it (they stay in `ticket_notes`) and never reach a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Contact,
    Engineer,
    MessageAuthor,
    NotificationChannel,
    Ticket,
    TicketMessage,
    TicketStatus,
    User,
)
from notify.outbox import MANAGERS, add_notification
from tickets.mail.replies import thread_headers
from tickets.mail.thread import latest_thread
from tickets.ownership import Actor, set_status

MAX_MESSAGE_LENGTH = 20000
TO_CUSTOMER = "ticket_message_to_customer"
TO_STAFF = "ticket_message_to_staff"
# The severity at which a customer's message also texts the ticket's assignee.
SMS_SEVERITY = 2


class ConversationError(ValueError):
    """A message that cannot be added; the message says why."""


@dataclass(frozen=True)
class Author:
    """Who writes: a contact of the ticket's account, or a staff user."""

    kind: MessageAuthor
    name: str
    contact_id: int | None = None
    user_id: int | None = None

    @classmethod
    def customer(cls, contact: Contact) -> Author:
        return cls(MessageAuthor.CUSTOMER, contact.name, contact_id=contact.id)

    @classmethod
    def staff(cls, user: User) -> Author:
        return cls(MessageAuthor.STAFF, user.name, user_id=user.id)


@dataclass(frozen=True)
class Links:
    """Where each side reads the ticket (the channel builds the URLs)."""

    customer: str
    staff: str


def add_message(
    session: Session,
    ticket: Ticket,
    author: Author,
    body: str,
    channel: str,
    now: datetime,
    links: Links,
) -> TicketMessage:
    """Add a message and queue the other side's notifications; the caller commits."""
    body = body.strip()
    if not body:
        raise ConversationError("the message is empty")
    if len(body) > MAX_MESSAGE_LENGTH:
        raise ConversationError(f"a message can be at most {MAX_MESSAGE_LENGTH} characters")
    message = TicketMessage(
        ticket_id=ticket.id,
        author_kind=author.kind,
        contact_id=author.contact_id,
        user_id=author.user_id,
        author_name=author.name,
        channel=channel,
        body=body,
        created_at=now,
    )
    session.add(message)
    session.flush()
    if author.kind is MessageAuthor.CUSTOMER:
        # The customer answered (pending) or is not satisfied (solved): the ticket is back
        # with its owner, or back in the queue.
        if ticket.status in (TicketStatus.PENDING, TicketStatus.SOLVED):
            back = TicketStatus.ACKNOWLEDGED if ticket.assignee_name else TicketStatus.OPEN
            set_status(session, ticket, back, Actor(name=f"{author.name} (customer)"), now)
        _notify_staff(
            session,
            ticket,
            f"message:{message.id}",
            message.author_name,
            message.body,
            now,
            links.staff,
        )
    else:
        _notify_customer(session, ticket, message, now, links.customer)
    ticket.updated_at = now
    return message


def messages_of(session: Session, ticket_id: int) -> list[TicketMessage]:
    """The conversation, oldest first (newest last)."""
    return list(
        session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    )


def customer_recipient(session: Session, ticket: Ticket) -> Contact | None:
    """Who hears about staff messages: the contact who opened it, else the technical one."""
    if ticket.contact_id is not None:
        contact = session.get(Contact, ticket.contact_id)
        if contact is not None and contact.email:
            return contact
    return ticket.account.technical_contact() if ticket.account else None


def notify_new_ticket(
    session: Session, ticket: Ticket, contact: Contact, now: datetime, staff_link: str
) -> None:
    """Tell staff about a ticket a customer opened (as for a customer's message)."""
    notify_staff_of_ticket(session, ticket, contact.name, now, staff_link)


def notify_staff_of_ticket(
    session: Session, ticket: Ticket, author_name: str, now: datetime, staff_link: str
) -> None:
    """Tell staff about a new customer ticket, whoever wrote it (a contact, or an address staff
    approved)."""
    _notify_staff(
        session, ticket, f"ticket:{ticket.id}", author_name, ticket.description, now, staff_link
    )


def _payload(ticket: Ticket, author: str, body: str, link: str) -> dict[str, Any]:
    return {
        "ticket": ticket.number,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "account": ticket.account.name if ticket.account else "",
        "author": author,
        "body": body[:4000],
        "link": link,
    }


def _notify_customer(
    session: Session, ticket: Ticket, message: TicketMessage, now: datetime, link: str
) -> None:
    contact = customer_recipient(session, ticket)
    if contact is None or not contact.email:
        return
    add_notification(
        session,
        kind=TO_CUSTOMER,
        channel=NotificationChannel.EMAIL,
        recipient=contact.email,
        payload={
            **_payload(ticket, message.author_name, message.body, link),
            "contact_name": contact.name,
            **_email_thread(session, ticket),
        },
        now=now,
        dedupe_key=f"{TO_CUSTOMER}:{message.id}",
        ticket_id=ticket.id,
    )


def _email_thread(session: Session, ticket: Ticket) -> dict[str, Any]:
    """For a ticket that came by email: headers that answer the customer's latest email, so the
    reply lands in their thread and their answer comes back to the intake."""
    if ticket.channel != "email":
        return {}
    thread = latest_thread(session, ticket.id)
    if not thread:
        return {}
    return {"mail_headers": thread_headers(thread[-1], thread, auto=False)}


def _assignee(session: Session, ticket: Ticket) -> Engineer | None:
    if ticket.assignee_engineer_id is not None:
        return session.get(Engineer, ticket.assignee_engineer_id)
    if ticket.assignee_user_id is not None:
        user = session.get(User, ticket.assignee_user_id)
        return user.engineer if user is not None else None
    return None


def _notify_staff(
    session: Session,
    ticket: Ticket,
    key: str,
    author: str,
    body: str,
    now: datetime,
    link: str,
) -> None:
    engineer = _assignee(session, ticket)
    payload = _payload(ticket, author, body, link)
    add_notification(
        session,
        kind=TO_STAFF,
        channel=NotificationChannel.EMAIL,
        # Nobody's own address on file: the managers hear about it instead of no one.
        recipient=engineer.email if engineer and engineer.email else MANAGERS,
        payload=payload,
        now=now,
        dedupe_key=f"{TO_STAFF}:{key}:email",
        ticket_id=ticket.id,
    )
    if ticket.severity == SMS_SEVERITY and engineer is not None and engineer.active:
        add_notification(
            session,
            kind=TO_STAFF,
            channel=NotificationChannel.SMS,
            recipient=engineer.phone,
            payload=payload,
            now=now,
            dedupe_key=f"{TO_STAFF}:{key}:sms",
            ticket_id=ticket.id,
        )
