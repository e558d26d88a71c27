"""Actions done once: each action form carries a one-use key, so a reload cannot repeat it.

A page that shows a secret (a new PIN, a new API token) is the answer to a POST, not a
redirect, because the secret must never be kept anywhere to show again. Reloading that page
makes the browser post the form again; the key it carries was used, so the action is not
repeated and the user is sent back to the page with a message saying so.
"""

from __future__ import annotations

import secrets

from flask import request, session

FIELD = "once"
_USED_KEY = "used_once_keys"
# Enough for a long session of actions; older keys drop off (their forms are long gone).
_REMEMBERED = 64


def once_key() -> str:
    """A fresh one-use key for a form (a Jinja global: `{{ once() }}` renders the field)."""
    return secrets.token_urlsafe(16)


def already_done() -> bool:
    """Was this request's one-use key used before? Marks it used when it was not.

    A form without a key (an old page, a script) is treated as new: the key guards against
    reloads, it is not an access control.
    """
    key = request.form.get(FIELD, "")[:64]
    if not key:
        return False
    used = list(session.get(_USED_KEY, []))
    if key in used:
        return True
    used.append(key)
    session[_USED_KEY] = used[-_REMEMBERED:]
    return False
