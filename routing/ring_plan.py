"""The ring plan frozen on a call when ringing starts, so later config changes can't reshuffle it.

Stored in Call.ring_plan as JSON: a list of steps, each
{"level", "round", "timeout", "targets": [{"name", "phone", "engineer_id"}]}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.policy import Step

# How long a single configured number rings when no routing configuration is loaded.
SINGLE_NUMBER_TIMEOUT = 20


@dataclass(frozen=True)
class RingTarget:
    """One phone to ring, and whose it is."""

    name: str
    phone: str
    engineer_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The target as stored."""
        return {"name": self.name, "phone": self.phone, "engineer_id": self.engineer_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RingTarget:
        """A stored target."""
        return cls(str(data["name"]), str(data["phone"]), data.get("engineer_id"))


@dataclass(frozen=True)
class RingStep:
    """Targets rung at the same time, for `timeout` seconds."""

    level: int
    round: int
    timeout: int
    targets: tuple[RingTarget, ...]

    def to_json(self) -> dict[str, Any]:
        """The step as stored."""
        return {
            "level": self.level,
            "round": self.round,
            "timeout": self.timeout,
            "targets": [target.to_json() for target in self.targets],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RingStep:
        """A stored step."""
        targets = tuple(RingTarget.from_json(t) for t in data.get("targets") or [])
        return cls(int(data["level"]), int(data["round"]), int(data["timeout"]), targets)


@dataclass(frozen=True)
class RingPlan:
    """The steps to ring, in order."""

    steps: tuple[RingStep, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def has_targets(self) -> bool:
        """True when some step has a phone to ring."""
        return any(step.targets for step in self.steps)

    def phones(self) -> list[str]:
        """Every phone the plan would ring, once each, in order."""
        return list(dict.fromkeys(t.phone for step in self.steps for t in step.targets))

    def to_json(self) -> list[dict[str, Any]]:
        """The plan as stored in Call.ring_plan."""
        return [step.to_json() for step in self.steps]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]] | None) -> RingPlan:
        """A plan stored in Call.ring_plan (None: no plan, an empty one)."""
        return cls(tuple(RingStep.from_json(step) for step in data or []))

    @classmethod
    def from_steps(cls, steps: list[Step]) -> RingPlan:
        """Freeze a routing policy's steps, keeping only responders with a phone."""
        return cls(
            tuple(
                RingStep(
                    level=step.level,
                    round=step.round,
                    timeout=step.ring_timeout_seconds,
                    targets=tuple(
                        RingTarget(r.name, r.phone, r.engineer_id)
                        for r in step.responders
                        if r.phone
                    ),
                )
                for step in steps
            )
        )

    @classmethod
    def single_number(cls, number: str, timeout: int = SINGLE_NUMBER_TIMEOUT) -> RingPlan:
        """A plan that rings one configured number (no schedules loaded), twice."""
        target = RingTarget("the on-call engineer", number)
        return cls(tuple(RingStep(1, n, timeout, (target,)) for n in range(2)))
