"""Sealing PIN digits so the customer portal can show them again: never stored in clear.

The hash in `support_pins.pin_hash` is what a call is checked against; the sealed copy is only
for showing the PIN to a signed-in contact of its account. It is Fernet (AES-128-CBC with an
HMAC-SHA256) under a key derived from PIN_PEPPER, so a copy of the database alone opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from entitlement.policy import PinPolicy


def _fernet(policy: PinPolicy) -> Fernet:
    # A separate key from the hashing one: the same pepper, a different purpose label.
    key = hmac.new(policy.pepper.encode(), b"pin-seal\0v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(policy: PinPolicy, display: str) -> str:
    """The PIN as shown to people ('p' first for a privileged one), sealed."""
    return _fernet(policy).encrypt(display.encode()).decode()


def unseal(policy: PinPolicy, sealed: str | None) -> str | None:
    """The PIN a sealed value holds; None when there is none or the pepper has changed."""
    if not sealed:
        return None
    try:
        return _fernet(policy).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
