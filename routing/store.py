"""The routing configuration in the database, and the ring plan for a call about a product."""

from __future__ import annotations

import dataclasses
import json
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, Integer, Text, cast, func, literal, select
from sqlalchemy.orm import Session

from directory import ensure_product
from models.accounts import Product
from models.base import utcnow
from models.engineers import Engineer
from models.schedules import RoutingConfigVersion
from routing.config import (
    RoutingConfig,
    coverage_warnings,
    parse_routing,
    parse_routing_yaml,
    routing_to_data,
)
from routing.policy import Responder, Step


@dataclass(frozen=True)
class LoadReport:
    """What loading a configuration did: the version stored (None on a dry run), warnings."""

    config: RoutingConfig
    version: int | None
    warnings: list[str]


def current_version(session: Session) -> RoutingConfigVersion | None:
    """The stored configuration in force: the newest version."""
    return session.scalars(
        select(RoutingConfigVersion).order_by(RoutingConfigVersion.version.desc()).limit(1)
    ).first()


@dataclass(frozen=True)
class _Parsed:
    """A stored version, parsed once: its configuration and its engineers' row ids."""

    version: int
    config: RoutingConfig
    ids: dict[str, int]


# The parsed version in force, per engine: parsing the stored document on every call cost more
# CPU than the rest of the severity step. Each use still checks the version (see load_routing).
_parsed: weakref.WeakKeyDictionary[Engine, _Parsed] = weakref.WeakKeyDictionary()
# When each engine's cached version was last checked against the database (time.monotonic()).
_checked_at: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
# How stale the numbers' languages and offers may be in another process after a new version is
# saved (this process forgets its copy at once): a greeting then needs no query for them.
VERSION_CHECK_SECONDS = 1.0
# Product codes by id, per engine: a product's code is its identity and never changes.
_product_codes: weakref.WeakKeyDictionary[Engine, dict[int, str]] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@dataclass(frozen=True)
class Snapshot:
    """The routing version in force and a parsed version's engineers, read along another query."""

    # Read by snapshot_columns' columns: the newest version, the engineers' rows now.
    version: int | None
    engineers: str | None  # JSON: [[id, name, phone, email, timezone, active], ...]
    # The parsed version whose engineer ids the columns were built for: another thread may
    # parse a newer one before load_routing runs, and its ids are not the ones read.
    parsed: int | None = None


def snapshot_columns(session: Session) -> tuple[ColumnElement[Any], ...]:
    """Columns for a query the caller makes anyway, so that `load_routing` needs none of its own."""
    # The newest version number, the engineers of the version this process parsed (fresh),
    # and that parsed version's number. () before this process has parsed a version.
    engine = _engine(session)
    cached = _parsed.get(engine)
    if cached is None:
        return ()
    postgres = engine.dialect.name == "postgresql"
    key = (postgres, cached.version, tuple(sorted(cached.ids.values())))
    columns = _SNAPSHOT_COLUMNS.get(key)
    if columns is None:
        fields = (
            Engineer.id,
            Engineer.name,
            Engineer.phone,
            Engineer.email,
            Engineer.timezone,
            Engineer.active,
        )
        row = func.json_build_array(*fields) if postgres else func.json_array(*fields)
        rows = func.json_agg(row) if postgres else func.json_group_array(row)
        engineers = select(cast(rows, Text)).where(Engineer.id.in_(key[2])).scalar_subquery()
        newest = select(func.max(RoutingConfigVersion.version)).scalar_subquery()
        parsed = literal(cached.version, Integer())
        columns = (
            newest.label("routing_version"),
            engineers.label("routing_engineers"),
            parsed.label("routing_parsed"),
        )
        if len(_SNAPSHOT_COLUMNS) > 64:
            _SNAPSHOT_COLUMNS.clear()
        _SNAPSHOT_COLUMNS[key] = columns
    return columns


_SNAPSHOT_COLUMNS: dict[tuple[bool, int, tuple[int, ...]], tuple[ColumnElement[Any], ...]] = {}


def snapshot_of(values: tuple[Any, ...]) -> Snapshot | None:
    """The Snapshot that snapshot_columns' values make (None when there were none)."""
    if len(values) != 3:
        return None
    return Snapshot(values[0], values[1], values[2])


def load_routing(session: Session, seen: Snapshot | None = None) -> RoutingConfig | None:
    """The configuration in force, its engineers as the Engineer rows say now; None if none."""
    # One query on the common path: the engineers of the cached version, with the newest
    # version number beside them; none when `seen` brings them (read in this transaction by
    # snapshot_columns) for the version cached now. Only when the version has moved is the
    # new document read.
    engine = _engine(session)
    cached = _parsed.get(engine)
    if (
        cached is not None
        and seen is not None
        and seen.version == cached.version
        and seen.parsed == cached.version
    ):
        found_rows = [_EngineerRow(*row) for row in json.loads(seen.engineers or "[]")]
        return _with_engineers(cached, {e.id: e for e in found_rows})
    if cached is not None:
        newest = select(func.max(RoutingConfigVersion.version)).scalar_subquery()
        found = session.execute(
            select(Engineer, newest).where(Engineer.id.in_(cached.ids.values()))
        ).all()
        if found and found[0][1] == cached.version:
            return _with_engineers(cached, {e.id: _row_of(e) for e, _version in found})
    parsed = _parse_current(session, engine)
    if parsed is None:
        return None
    ids = parsed.ids
    found_now = session.scalars(select(Engineer).where(Engineer.id.in_(ids.values())))
    return _with_engineers(parsed, {e.id: _row_of(e) for e in found_now})


class _EngineerRow(NamedTuple):
    """What routing reads of an Engineer row."""

    id: int
    name: str
    phone: str
    email: str | None
    timezone: str
    active: bool


def _row_of(engineer: Engineer) -> _EngineerRow:
    return _EngineerRow(
        engineer.id,
        engineer.name,
        engineer.phone,
        engineer.email,
        engineer.timezone,
        engineer.active,
    )


def config_in_force(session: Session) -> RoutingConfig | None:
    """The parsed configuration in force, read again only when a newer version was saved.

    The version is checked at most once per VERSION_CHECK_SECONDS per process. Its engineers
    are as they were when the version was loaded: for what does not change with them (numbers,
    languages); ringing uses `load_routing`, which reads them fresh.
    """
    engine = _engine(session)
    cached = _parsed.get(engine)
    if (
        cached is not None
        and time.monotonic() - _checked_at.get(engine, 0.0) < VERSION_CHECK_SECONDS
    ):
        return cached.config
    newest = session.scalar(select(func.max(RoutingConfigVersion.version)))
    if cached is not None and cached.version == newest:
        _checked_at[engine] = time.monotonic()
        return cached.config
    parsed = _parse_current(session, engine)
    return parsed.config if parsed else None


def config_in_memory(engine: Engine) -> RoutingConfig | None:
    """The configuration this process last parsed for `engine`, without asking the database
    (degraded mode reads its numbers' languages from it); None if none was parsed yet."""
    cached = _parsed.get(engine)
    return cached.config if cached else None


def forget_parsed(session: Session) -> None:
    """Drop this process's parsed version: the next reader checks the database again."""
    engine = _engine(session)
    _parsed.pop(engine, None)
    _checked_at.pop(engine, None)


def _parse_current(session: Session, engine: Engine) -> _Parsed | None:
    """Read and parse the version in force, and keep it for this engine."""
    row = current_version(session)
    if row is None:
        return None
    config = parse_routing(row.document["config"], source=f"routing version {row.version}")
    parsed = _Parsed(row.version, config, dict(row.document.get("engineer_ids", {})))
    _parsed[engine] = parsed
    _checked_at[engine] = time.monotonic()
    return parsed


def _with_engineers(parsed: _Parsed, rows: dict[int, _EngineerRow]) -> RoutingConfig:
    """The parsed configuration with its engineers as their rows say now."""
    config, ids = parsed.config, parsed.ids
    engineers: dict[str, Responder] = {}
    for key, stored in config.engineers.items():
        engineer = rows.get(ids.get(key, -1))
        if engineer is None:
            # The row was deleted since: keep the key known but never ring it.
            engineers[key] = dataclasses.replace(stored, active=False)
            continue
        engineers[key] = Responder(
            key,
            engineer.name,
            engineer.phone,
            engineer.email,
            engineer.timezone,
            bool(engineer.active),
            engineer.id,
        )
    return dataclasses.replace(config, engineers=engineers)


def save_routing(
    session: Session, config: RoutingConfig, source: str = ""
) -> tuple[int, list[str]]:
    """Store `config` as the new version in force, creating or updating its engineers.

    Returns the version and notes on what it created; the caller commits.
    """
    notes: list[str] = []
    ids = _upsert_engineers(session, config)
    for code in config.products:
        if session.scalars(select(Product.id).where(Product.code == code)).first() is None:
            ensure_product(session, code)
            notes.append(f'product "{code}" was not in the directory; created it')
    newest = session.scalar(select(func.max(RoutingConfigVersion.version))) or 0
    row = RoutingConfigVersion(
        version=newest + 1,
        source=source[:300],
        document={"config": routing_to_data(config), "engineer_ids": ids},
    )
    session.add(row)
    session.flush()
    forget_parsed(session)
    return row.version, notes


def _upsert_engineers(session: Session, config: RoutingConfig) -> dict[str, int]:
    """The Engineer row id of every key, matched by phone, then by the last version, then email."""
    previous = current_version(session)
    previous_ids: dict[str, int] = previous.document.get("engineer_ids", {}) if previous else {}
    rows = list(session.scalars(select(Engineer)))
    claimed: dict[str, Engineer] = {}
    # Phone first: it is the unique identity of an Engineer row.
    for key, r in config.engineers.items():
        match = next((e for e in rows if e.phone == r.phone), None)
        if match is not None:
            claimed[key] = match
    for key, r in config.engineers.items():
        if key in claimed:
            continue
        taken = {e.id for e in claimed.values()}
        match = next(
            (e for e in rows if e.id == previous_ids.get(key) and e.id not in taken), None
        ) or next(
            (
                e
                for e in rows
                if r.email and (e.email or "").lower() == r.email.lower() and e.id not in taken
            ),
            None,
        )
        if match is None:
            match = Engineer()
            session.add(match)
        claimed[key] = match
    for key, r in config.engineers.items():
        engineer = claimed[key]
        engineer.name, engineer.phone, engineer.email = r.name, r.phone or "", r.email
        engineer.timezone, engineer.active = r.timezone, r.active
    session.flush()
    return {key: engineer.id for key, engineer in claimed.items()}


def load_routing_text(
    session: Session, text: str, source: str, now: datetime, dry_run: bool = False
) -> LoadReport:
    """Validate a YAML configuration and, unless `dry_run`, store it; RoutingConfigError if bad."""
    config = parse_routing_yaml(text, source)
    warnings = coverage_warnings(config, now)
    if dry_run:
        return LoadReport(config, None, warnings)
    version, notes = save_routing(session, config, source)
    return LoadReport(config, version, warnings + notes)


def demo_routing_text() -> str:
    """The demo configuration shipped with the package (routing/demo.yaml)."""
    return resources.files("routing").joinpath("demo.yaml").read_text(encoding="utf-8")


def load_demo_routing(session: Session, now: datetime | None = None) -> LoadReport:
    """Store the demo configuration: three engineers, a weekly rotation, a default policy."""
    return load_routing_text(session, demo_routing_text(), "demo.yaml", now or utcnow())


def plan_for_product(
    session: Session,
    product_id: int | None,
    now: datetime,
    called: str | None = None,
    seen: Snapshot | None = None,
) -> list[Step]:
    """The ordered ring steps for a call to `called` about product `product_id` at `now`."""
    # [] if none. `seen`: the routing as read in this transaction (see load_routing).
    config = load_routing(session, seen)
    if config is None:
        return []
    return config.plan(_product_code(session, product_id), now, called)


def _product_code(session: Session, product_id: int | None) -> str | None:
    """The code of product `product_id` (read once per engine), None for no product."""
    if product_id is None:
        return None
    codes = _product_codes.setdefault(_engine(session), {})
    if product_id not in codes:
        product = session.get(Product, product_id)
        if product is None:
            return None
        codes[product_id] = product.code
    return codes[product_id]
