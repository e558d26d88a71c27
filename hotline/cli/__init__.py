"""The `hotline` command line: one group, with commands in a module per area."""

from __future__ import annotations

# Importing each module registers its commands on the group.
from hotline.cli import (  # noqa: F401
    call,
    database,
    demo,
    directory,
    licences,
    mail,
    pins,
    routing,
    service,
    users,
)
from hotline.cli.base import cli


def main() -> None:
    """Entry point of the `hotline` console script."""
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    cli(prog_name="hotline")


__all__ = ["cli", "main"]
