"""The limits a PIN check enforces, gathered in one immutable value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.config import Settings

MIN_PIN_LENGTH = 6
MAX_PIN_LENGTH = 10


@dataclass(frozen=True)
class PinPolicy:
    """How PINs are made and hashed, and how many failures a caller is allowed."""

    # Kept out of repr so a logged policy never shows the key every PIN hash depends on.
    pepper: str = field(repr=False)
    length: int = 8
    tries_per_call: int = 3
    lockout_failures: int = 5
    lockout_window: timedelta = timedelta(hours=1)
    burst_threshold: int = 30
    burst_window: timedelta = timedelta(minutes=10)
    privileged_lifetime: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not self.pepper:
            raise ValueError("PIN_PEPPER is empty; PIN hashes need a secret key")
        if not MIN_PIN_LENGTH <= self.length <= MAX_PIN_LENGTH:
            raise ValueError(
                f"PIN length must be {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits, got {self.length}"
            )
        if min(self.tries_per_call, self.lockout_failures, self.burst_threshold) < 1:
            raise ValueError("PIN limits must be at least 1")

    @property
    def privileged_digits(self) -> int:
        """Digits in a privileged PIN: one fewer, so '*' plus the digits fill one PIN's keys."""
        # The IVR takes exactly `length` keys without waiting for '#'; '*' is one of them.
        return self.length - 1

    @classmethod
    def from_settings(cls, settings: Settings) -> PinPolicy:
        """The policy the service's settings describe."""
        return cls(
            pepper=settings.pin_pepper,
            length=settings.pin_length,
            lockout_failures=settings.pin_lockout_failures,
            burst_threshold=settings.pin_burst_threshold,
            burst_window=timedelta(minutes=settings.pin_burst_window_minutes),
        )
