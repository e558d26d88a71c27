"""The limits a PIN check enforces, gathered in one immutable value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.config import Settings

MIN_PIN_LENGTH = 6
MAX_PIN_LENGTH = 10
DEFAULT_LOCKOUT_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60))


@dataclass(frozen=True)
class PinPolicy:
    """How PINs are made and hashed, and how many failures a caller is allowed."""

    # Kept out of repr so a logged policy never shows the key every PIN hash depends on.
    pepper: str = field(repr=False)
    length: int = 8
    tries_per_call: int = 3
    # Failures per caller number within one window of `lockout_window` before a lockout.
    lockout_failures: int = 5
    lockout_window: timedelta = timedelta(hours=1)
    # Failures from the registered numbers of one account, per `lockout_window`.
    account_failures: int = 10
    # The 1st, 2nd, 3rd... lockout in a row lasts this long; the last one repeats.
    lockout_delays: tuple[timedelta, ...] = DEFAULT_LOCKOUT_DELAYS
    # A lockout that ended this long ago no longer makes the next one longer.
    strike_memory: timedelta = timedelta(hours=24)
    # Every caller who hides their number shares this budget; it refuses only until the
    # window ends, and never grows, so filling it cannot lock anyone out for long.
    withheld_failures: int = 15
    withheld_window: timedelta = timedelta(minutes=5)
    burst_threshold: int = 30
    burst_window: timedelta = timedelta(minutes=10)
    privileged_lifetime: timedelta = timedelta(hours=24)
    # Caller IDs without a '+' are read as numbers of this ISO region.
    home_region: str = "US"

    def __post_init__(self) -> None:
        if not self.pepper:
            raise ValueError("PIN_PEPPER is empty; PIN hashes need a secret key")
        if not MIN_PIN_LENGTH <= self.length <= MAX_PIN_LENGTH:
            raise ValueError(
                f"PIN length must be {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits, got {self.length}"
            )
        limits = (
            self.tries_per_call,
            self.lockout_failures,
            self.account_failures,
            self.withheld_failures,
            self.burst_threshold,
        )
        if min(limits) < 1:
            raise ValueError("PIN limits must be at least 1")
        if not self.lockout_delays or min(self.lockout_delays) <= timedelta(0):
            raise ValueError("PIN lockout delays must be at least one positive duration")

    @property
    def privileged_digits(self) -> int:
        """Digits in a privileged PIN: one fewer, so '*' plus the digits fill one PIN's keys."""
        # The IVR takes exactly `length` keys without waiting for '#'; '*' is one of them.
        return self.length - 1

    def lockout_delay(self, strike: int) -> timedelta:
        """How long the `strike`-th lockout in a row lasts (1-based)."""
        return self.lockout_delays[min(max(strike, 1), len(self.lockout_delays)) - 1]

    @classmethod
    def from_settings(cls, settings: Settings) -> PinPolicy:
        """The policy the service's settings describe."""
        return cls(
            pepper=settings.pin_pepper,
            length=settings.pin_length,
            lockout_failures=settings.pin_lockout_failures,
            account_failures=settings.pin_account_failures,
            lockout_delays=tuple(timedelta(minutes=m) for m in settings.pin_lockout_minutes),
            withheld_failures=settings.pin_withheld_failures,
            withheld_window=timedelta(minutes=settings.pin_withheld_window_minutes),
            burst_threshold=settings.pin_burst_threshold,
            burst_window=timedelta(minutes=settings.pin_burst_window_minutes),
            home_region=settings.home_region,
        )
