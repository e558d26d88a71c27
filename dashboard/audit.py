"""The audit log: every admin action, written in the same transaction as the action."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import utcnow
from models.users import AuditEntry, User


def record(
    session: Session, user: User | None, action: str, target: str = "", **detail: Any
) -> AuditEntry:
    """Add an audit entry for `action` on `target` by `user`; the caller commits."""
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user else None,
        username=user.username if user else "system",
        action=action,
        target=target,
        detail={key: _plain(value) for key, value in detail.items()},
    )
    session.add(entry)
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
