"""The routing configuration in the database and through `hotline routing` commands."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import hotline.cli.routing  # noqa: F401 - registers `hotline routing` on the command group
from kernel.statements import StatementCounter
from models.accounts import Product
from models.engineers import Engineer
from models.schedules import RoutingConfigVersion
from routing.config import parse_routing_yaml
from routing.policy import Responder
from routing.store import (
    demo_routing_text,
    load_demo_routing,
    load_routing,
    load_routing_text,
    plan_for_product,
    save_routing,
    snapshot_columns,
    snapshot_of,
)

# Monday 7 December 2026 09:00 EST: week 48 of the demo rotation, Dana's.
DANA_WEEK = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def first_keys(steps: list[Any]) -> list[list[str]]:
    return [[r.key for r in step.responders] for step in steps[:2]]


def test_demo_routing_loads_engineers_and_rings_the_person_on_call(session: Session) -> None:
    report = load_demo_routing(session, DANA_WEEK)
    session.commit()
    assert report.version == 1 and report.warnings == []
    phones = session.scalars(select(Engineer.phone).order_by(Engineer.phone)).all()
    assert phones == ["+15005550101", "+15005550102", "+15005550103"]
    plan = plan_for_product(session, None, DANA_WEEK)
    assert first_keys(plan) == [["dana"], ["dana", "sam", "lee"]]
    assert len(plan) == 6 and plan[0].ring_timeout_seconds == 20
    assert plan[0].responders[0].engineer_id is not None
    one_second_before = plan_for_product(
        session, None, DANA_WEEK.replace(second=0, hour=13, minute=59)
    )
    assert first_keys(one_second_before)[0] == ["lee"]


def test_products_map_to_their_policy(session: Session) -> None:
    text = demo_routing_text().replace(
        "default_policy: default\nproducts: {}",
        "  night:\n    repeat: 0\n    levels:\n      - targets: [engineer: lee]\n"
        "default_policy: default\nproducts:\n  DB: night",
    )
    report = load_routing_text(session, text, "routing.yaml", DANA_WEEK)
    session.commit()
    assert report.warnings == ['product "db" was not in the directory; created it']
    db = session.scalars(select(Product).where(Product.code == "db")).one()
    assert first_keys(plan_for_product(session, db.id, DANA_WEEK)) == [["lee"]]
    assert first_keys(plan_for_product(session, None, DANA_WEEK))[0] == ["dana"]


def test_reloading_updates_engineers_in_place(session: Session) -> None:
    load_demo_routing(session, DANA_WEEK)
    session.commit()
    ids = {phone: id_ for phone, id_ in session.execute(select(Engineer.phone, Engineer.id))}
    changed = demo_routing_text().replace('"+15005550102"', '"+15005550109"')
    report = load_routing_text(session, changed, "routing.yaml", DANA_WEEK)
    session.commit()
    assert report.version == 2
    rows = {phone: id_ for phone, id_ in session.execute(select(Engineer.phone, Engineer.id))}
    assert rows == {
        "+15005550101": ids["+15005550101"],
        "+15005550109": ids["+15005550102"],
        "+15005550103": ids["+15005550103"],
    }


def test_the_plan_follows_engineer_rows_as_they_are_now(session: Session) -> None:
    load_demo_routing(session, DANA_WEEK)
    session.commit()
    dana = session.scalars(select(Engineer).where(Engineer.phone == "+15005550101")).one()
    dana.active = False
    session.commit()
    assert first_keys(plan_for_product(session, None, DANA_WEEK)) == [
        ["sam", "lee"],
        ["sam", "lee"],
    ]


def test_the_plan_read_along_another_query_follows_engineer_rows_too(
    session: Session, statements: StatementCounter
) -> None:
    """The severity step reads the version and the engineers as two columns of its ticket
    query: an engineer switched off since the version was parsed is not rung, and the plan
    needs no query of its own."""
    load_demo_routing(session, DANA_WEEK)
    session.commit()
    load_routing(session)  # this process has parsed the version in force
    dana = session.scalars(select(Engineer).where(Engineer.phone == "+15005550101")).one()
    dana.active = False
    session.commit()
    seen = snapshot_of(tuple(session.execute(select(*snapshot_columns(session))).one()))
    statements.take()
    plan = plan_for_product(session, None, DANA_WEEK, seen=seen)
    assert statements.take().statements == []
    assert first_keys(plan) == [["sam", "lee"], ["sam", "lee"]]
    # A newer version than the one parsed: the snapshot is not used, the new one is read.
    load_routing_text(session, demo_routing_text(), "again.yaml", DANA_WEEK)
    session.commit()
    assert seen.version == 1
    assert first_keys(plan_for_product(session, None, DANA_WEEK, seen=seen))[0] == ["dana"]


def test_a_snapshot_read_for_an_older_parsed_version_is_not_used(
    app: Flask, session: Session
) -> None:
    """Another thread of the process parses a newer version between the columns being built
    and the plan: its new engineer is rung, not taken for deleted."""
    make_session = app.extensions["sessionmaker"]
    load_demo_routing(session, DANA_WEEK)
    session.commit()
    first = load_routing(session)  # this process has parsed version 1
    assert first is not None
    columns = snapshot_columns(session)  # built for version 1's engineers
    zoe = Responder("zoe", "Zoe New", "+15005550177", None, "UTC", True, None)
    with make_session() as admin:
        newer = dataclasses.replace(first, engineers={**first.engineers, "zoe": zoe})
        save_routing(admin, newer, "v2")
        admin.commit()
    with make_session() as other_thread:
        load_routing(other_thread)  # parses version 2
    seen = snapshot_of(tuple(session.execute(select(*columns)).one()))
    assert seen is not None and seen.version == 2
    config = load_routing(session, seen)
    assert config is not None
    assert config.engineers["zoe"].active


def test_nothing_loaded_means_an_empty_plan(session: Session) -> None:
    assert load_routing(session) is None
    assert plan_for_product(session, None, DANA_WEEK) == []


def write(tmp_path: Path, text: str, name: str = "routing.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_load_refuses_a_bad_file_naming_the_line(
    runner: Any, session: Session, tmp_path: Path
) -> None:
    bad = demo_routing_text().replace("- schedule: primary", "- schedule: primery")
    result = runner.invoke("routing", "load", write(tmp_path, bad))
    assert result.exit_code == 1
    assert (
        'routing.yaml line 35: policy "default" level 1 names unknown schedule "primery"'
        in result.output.splitlines()
    )
    assert "Error: routing.yaml not loaded: 1 error" in result.output
    assert session.scalars(select(RoutingConfigVersion)).all() == []


def test_cli_dry_run_stores_nothing(runner: Any, session: Session, tmp_path: Path) -> None:
    result = runner.invoke("routing", "load", "--dry-run", write(tmp_path, demo_routing_text()))
    assert result.exit_code == 0, result.output
    assert "nothing stored" in result.output
    assert session.scalars(select(Engineer)).all() == []


def test_cli_load_then_export_round_trips(runner: Any, tmp_path: Path) -> None:
    loaded = runner.invoke("routing", "load", write(tmp_path, demo_routing_text()), "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["version"] == 1
    exported = runner.invoke("routing", "export")
    assert exported.exit_code == 0, exported.output
    assert parse_routing_yaml(exported.output) == parse_routing_yaml(demo_routing_text())
    again = runner.invoke("routing", "load", write(tmp_path, exported.output, "exported.yaml"))
    assert again.exit_code == 0 and "routing version 2" in again.output


def test_cli_load_warns_about_gaps(runner: Any, tmp_path: Path) -> None:
    future = demo_routing_text().replace('start: "2026-01-05 09:00"', 'start: "2099-01-05 09:00"')
    result = runner.invoke("routing", "load", write(tmp_path, future))
    assert result.exit_code == 0, result.output
    assert 'Warning: schedule "primary" has nobody on call from' in result.output


def test_cli_oncall(runner: Any, tmp_path: Path) -> None:
    assert runner.invoke("routing", "oncall").exit_code == 1
    runner.invoke("routing", "load", write(tmp_path, demo_routing_text()))
    human = runner.invoke("routing", "oncall", "--at", "2026-12-07T14:00:00Z")
    assert human.output.strip() == ("primary: Dana Reyes until Mon 14 Dec 09:00 (America/New_York)")
    data = json.loads(
        runner.invoke("routing", "oncall", "--at", "2026-12-07T13:59:59", "--json").output
    )
    assert data["schedules"] == [
        {
            "schedule": "primary",
            "on_call": [{"key": "lee", "name": "Lee Park", "phone": "+15005550103"}],
            "until": "2026-12-07T14:00:00+00:00",
        }
    ]
    assert runner.invoke("routing", "oncall", "--at", "yesterday").exit_code == 2


def test_cli_help() -> None:
    from click.testing import CliRunner

    from hotline.cli.base import cli

    for command in ("load", "export", "oncall"):
        result = CliRunner().invoke(cli, ["routing", command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
