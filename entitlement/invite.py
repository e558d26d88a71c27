"""'Invite support to my account': the elevated access a privileged PIN gives, from the portal.

It lasts as long as a privileged PIN (the policy's lifetime, one day), is written on the ticket
where staff see it, kept in the audit log, and alerts managers like a privileged PIN's use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from entitlement.alerts import alert_managers
from entitlement.policy import PinPolicy
from models import AuditEntry, Contact, Ticket

SUPPORT_INVITED = "support_invited"


def invite_support(
    session: Session, ticket: Ticket, contact: Contact, now: datetime, policy: PinPolicy
) -> datetime:
    """Grant support elevated access on the ticket until one privileged-PIN lifetime from now."""
    until = now + policy.privileged_lifetime
    if ticket.elevated_access_until is None or ticket.elevated_access_until < until:
        ticket.elevated_access_until = until
    entry = AuditEntry(
        at=now,
        user_id=None,
        username=f"contact:{contact.id}"[:64],
        action="portal.support_invited",
        target=ticket.number,
        detail={
            "contact": contact.name,
            "account_id": contact.account_id,
            "until": until.isoformat(),
        },
    )
    session.add(entry)
    session.flush()
    alert_managers(
        session,
        SUPPORT_INVITED,
        {
            "account": contact.account.name,
            "account_id": contact.account_id,
            "contact": contact.name,
            "ticket": ticket.number,
            "invited_at": now.isoformat(),
            "elevated_until": until.isoformat(),
        },
        now,
        f"{SUPPORT_INVITED}:{entry.id}",
    )
    return until
