"""The hotline's numbers as the routing configuration declares them: language, policy, offer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kernel.phones import caller_e164
from routing.config import HotlineNumber, RoutingConfigError
from routing.store import config_in_force


def hotline_number(session: Session, called: str | None) -> HotlineNumber | None:
    """What the configuration in force says about the number called; None if it is not listed."""
    number = caller_e164(called)
    if number is None:
        return None
    try:
        config = config_in_force(session)
    except RoutingConfigError:
        return None
    return config.numbers.get(number) if config else None


def language_of(session: Session, called: str | None) -> str | None:
    """The language callers of this number hear (None: the hotline's default, English)."""
    number = hotline_number(session, called)
    return number.language if number else None


def offered_language(session: Session, called: str | None) -> str | None:
    """The other language this number offers at its greeting, if any."""
    number = hotline_number(session, called)
    return number.offer if number else None
