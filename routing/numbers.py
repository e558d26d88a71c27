"""The hotline's numbers as the routing configuration declares them: language, policy, offer."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kernel.phones import caller_e164
from routing.config import HotlineNumber, RoutingConfigError
from routing.store import config_in_force, config_in_memory


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


def timezone_of(session: Session, called: str | None) -> str | None:
    """The time zone of the number's region, if the configuration names one."""
    number = hotline_number(session, called)
    return number.timezone if number else None


def language_without_database(engine: Engine, called: str | None) -> str | None:
    """The number's language from the configuration in memory (degraded mode: no query);
    None when it is not listed or this process never loaded a configuration."""
    number = caller_e164(called)
    config = config_in_memory(engine)
    found = config.numbers.get(number) if config and number else None
    return found.language if found else None
