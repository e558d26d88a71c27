"""Commands: on-call routing as code (load, export) and who is on call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from hotline.cli.base import cli, emit, json_option, session_scope
from models.base import utcnow
from routing.config import RoutingConfigError, export_yaml
from routing.schedule import next_change, on_call_at
from routing.store import load_routing, load_routing_text


@cli.group("routing")
def routing_group() -> None:
    """On-call schedules and escalation policies."""


@routing_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report, but store nothing.")
@json_option
@click.pass_context
def routing_load(ctx: click.Context, file: Path, dry_run: bool, as_json: bool) -> None:
    """Replace the routing configuration with the one in FILE (YAML)."""
    text = file.read_text(encoding="utf-8")
    with session_scope(ctx) as session:
        try:
            report = load_routing_text(session, text, file.name, utcnow(), dry_run=dry_run)
        except RoutingConfigError as exc:
            for line in exc.errors:
                click.echo(line, err=True)
            count = len(exc.errors)
            raise click.ClickException(
                f"{file.name} not loaded: {count} error{'s' if count != 1 else ''}"
            ) from None
        if not dry_run:
            session.commit()
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    config = report.config
    data = {
        "version": report.version,
        "dry_run": dry_run,
        "engineers": len(config.engineers),
        "schedules": len(config.schedules),
        "policies": len(config.policies),
        "warnings": report.warnings,
    }
    summary = (
        f"{len(config.engineers)} engineers, {len(config.schedules)} schedules, "
        f"{len(config.policies)} policies"
    )
    human = (
        f"{file.name} is valid ({summary}); nothing stored (dry run)."
        if dry_run
        else f"Loaded {file.name} as routing version {report.version} ({summary})."
    )
    emit(as_json, data, human)


@routing_group.command("export")
@click.pass_context
def routing_export(ctx: click.Context) -> None:
    """Print the routing configuration in force as YAML."""
    with session_scope(ctx) as session:
        config = load_routing(session)
    if config is None:
        raise click.ClickException("no routing configuration loaded yet (hotline routing load)")
    click.echo(export_yaml(config), nl=False)


def _instant(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time", param_hint="--at") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@routing_group.command("oncall")
@click.option("--at", "at", help="ISO time to ask about (UTC without an offset); default now.")
@json_option
@click.pass_context
def routing_oncall(ctx: click.Context, at: str | None, as_json: bool) -> None:
    """Who is on call for each schedule, and until when."""
    t = _instant(at)
    with session_scope(ctx) as session:
        config = load_routing(session)
    if config is None:
        raise click.ClickException("no routing configuration loaded yet (hotline routing load)")
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for name, schedule in config.schedules.items():
        keys = on_call_at(schedule, t)
        people = [config.engineers[k] for k in keys if k in config.engineers]
        until = next_change(schedule, t)
        rows.append(
            {
                "schedule": name,
                "on_call": [{"key": p.key, "name": p.name, "phone": p.phone} for p in people],
                "until": until.isoformat() if until else None,
            }
        )
        who = ", ".join(p.name for p in people) or "nobody on call"
        when = ""
        if until is not None:
            local = until.astimezone(ZoneInfo(schedule.time_zone))
            when = f" until {local:%a %d %b %H:%M} ({schedule.time_zone})"
        lines.append(f"{name}: {who}{when}")
    emit(as_json, {"at": t.isoformat(), "schedules": rows}, "\n".join(lines) or "No schedules.")
