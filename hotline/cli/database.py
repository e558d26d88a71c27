"""Commands: the database schema."""

from __future__ import annotations

import click

from hotline import migrate
from hotline.cli.base import cli
from kernel.config import ConfigError, load_settings


def _database_url() -> str:
    try:
        return load_settings().database_url
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to migrate to.")
def db_upgrade(revision: str) -> None:
    """Bring the database (DATABASE_URL) to the current schema."""
    url = _database_url()
    migrate.upgrade(url, revision)
    click.echo(f"Database at revision {migrate.current_revision(url)}.")


@db.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    click.echo(migrate.current_revision(_database_url()) or "empty (run: hotline db upgrade)")
