"""The command group and what every command shares: the app, a session, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from sqlalchemy.orm import Session

from hotline.app import create_app
from kernel.config import ConfigError


class AppLoader:
    """Builds the app once, on first use, turning a bad setting into a one-line error."""

    def __init__(self, factory: Callable[[], Flask] | None = None) -> None:
        self._factory = factory
        self._app: Flask | None = None

    @property
    def app(self) -> Flask:
        if self._app is None:
            try:
                self._app = (self._factory or create_app)()
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
        return self._app


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Sev-1 Hotline: a severity-1 support phone line."""
    factory = ctx.obj if callable(ctx.obj) else None
    ctx.obj = AppLoader(factory)


def current_app_of(ctx: click.Context) -> Flask:
    """The app for this command invocation."""
    loader = ctx.find_object(AppLoader)
    assert loader is not None, "commands run inside the hotline group"
    return loader.app


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
