"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from __future__ import annotations

import sys

from dotenv import load_dotenv

from hotline import create_app
from kernel.config import ConfigError

load_dotenv(".env", override=False)
try:
    app = create_app()
except ConfigError as exc:
    # One line naming the setting, not a traceback; gunicorn then refuses to boot.
    print(f"hotline: {exc}", file=sys.stderr)
    sys.exit(1)
