"""The JSON API: bearer tokens, tickets, accounts, licences, PINs, engineers, OpenAPI."""

from __future__ import annotations

from dashboard.api import accounts, engineers, openapi, tickets  # noqa: F401 - registers routes
from dashboard.api.base import bp

__all__ = ["bp"]
