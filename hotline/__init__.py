"""Sev-1 Hotline: the app factory, configuration and command line."""

from hotline.app import create_app

__all__ = ["create_app"]
