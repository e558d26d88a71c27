"""Password hashes for staff and portal users: werkzeug's scrypt, one work factor per process."""

from __future__ import annotations

from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

# werkzeug's own default: about 100 ms and 32 MiB per hash, which is what slows a guesser.
STRONG = "scrypt:32768:8:1"
# HOTLINE_ENV=test only: hundreds of tests sign in, and the strong factor made that a tenth of
# the suite's time. The format and every check are the same; only the cost differs.
FAST_FOR_TESTS = "scrypt:1024:8:1"

_method = STRONG


def use_method(method: str) -> None:
    """Hash new passwords with `method` from now on (the app factory sets it from settings)."""
    global _method
    _method = method


def hash_password(password: str) -> str:
    """A salted hash of `password` to store."""
    return generate_password_hash(password, method=_method)


def password_matches(stored: str | None, password: str) -> bool:
    """True when `password` is the one `stored` was made from; a missing hash costs the same."""
    # Checked against a dummy when there is no user, so both answers take as long.
    matches = check_password_hash(stored or _dummy_hash(_method), password)
    return matches and stored is not None


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not anyone's password", method=method)
