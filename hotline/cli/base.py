"""The command group and what every command shares: the app, a session, output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.orm import Session

from hotline.app import create_app
from kernel.config import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Sev-1 Hotline: a severity-1 support phone line."""
    # Flask's own loader builds the app once, on first use (so --help starts nothing); a test
    # may hand in its own factory as the context object.
    factory = ctx.obj if callable(ctx.obj) else create_app
    ctx.obj = ScriptInfo(create_app=factory, set_debug_flag=False)


def current_app_of(ctx: click.Context) -> Flask:
    """The app for this command invocation; a bad setting is a one-line error."""
    info = ctx.find_object(ScriptInfo)
    assert info is not None, "commands run inside the hotline group"
    try:
        return info.load_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def session_scope(ctx: click.Context) -> Iterator[Session]:
    """A session inside the app context; the command commits explicitly."""
    app = current_app_of(ctx)
    with app.app_context(), app.extensions["sessionmaker"]() as session:
        yield session


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    """Print what a command made: JSON for scripts, a sentence for people."""
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
