"""The `hotline` command line: one group, with commands in a module per area."""

from __future__ import annotations

from hotline.cli import database, directory, licences, pins, service  # noqa: F401 - registers commands
from hotline.cli.base import cli


def main() -> None:
    """Entry point of the `hotline` console script."""
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    cli(prog_name="hotline")


__all__ = ["cli", "main"]
