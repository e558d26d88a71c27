"""The managers' dashboard and JSON API."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints on `app`."""
