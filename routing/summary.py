"""Readable summaries of a routing configuration: who is on call now and next, and the policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.config import RoutingConfig
from routing.policy import EscalationPolicy, Level, Responder, Target
from routing.schedule import next_change, on_call_at, require_aware, shifts

# How far ahead "who is next" looks; a schedule with no change within it has nobody next.
NEXT_HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class ScheduleNow:
    """A schedule at an instant: who is on call, who takes over next, and when."""

    name: str
    time_zone: str
    now: tuple[Responder, ...]
    next: tuple[Responder, ...]
    handoff: datetime | None  # None: nobody changes within NEXT_HORIZON


@dataclass(frozen=True)
class PolicySummary:
    """An escalation policy in words: one line per level, the repeats, the products it serves."""

    name: str
    levels: tuple[str, ...]
    repeats: str
    products: tuple[str, ...]
    is_default: bool


@dataclass(frozen=True)
class EngineerShift:
    """One of an engineer's shifts, with the schedule it belongs to."""

    schedule: str
    time_zone: str
    start: datetime
    end: datetime


def responder(config: RoutingConfig, key: str) -> Responder:
    """The responder for `key`; an unknown key (a stale override) still gets a readable name."""
    return config.engineers.get(key) or Responder(key, key, None, active=False)


def schedule_now(
    config: RoutingConfig, name: str, now: datetime, horizon: timedelta = NEXT_HORIZON
) -> ScheduleNow:
    """Who is on call for schedule `name` at `now`, and who follows at the next handoff."""
    schedule = config.schedules[name]
    now = require_aware(now)
    current = tuple(responder(config, k) for k in on_call_at(schedule, now))
    handoff = next_change(schedule, now, horizon)
    following = (
        tuple(responder(config, k) for k in on_call_at(schedule, handoff)) if handoff else ()
    )
    return ScheduleNow(name, schedule.time_zone, current, following, handoff)


def on_call_now(config: RoutingConfig, now: datetime) -> list[ScheduleNow]:
    """Every schedule at `now`, by name."""
    return [schedule_now(config, name, now) for name in sorted(config.schedules)]


def seconds_text(seconds: int) -> str:
    """'20 s', '2 min' or '1 min 30 s'."""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def target_text(config: RoutingConfig, target: Target) -> str:
    """'everyone on call for schedule "primary"' or 'Dana Reyes'."""
    if target.kind == "schedule":
        return f'everyone on call for schedule "{target.name}"'
    who = responder(config, target.name)
    return who.name if who.reachable else f"{who.name} (cannot be rung)"


def level_text(config: RoutingConfig, level: Level) -> str:
    """One level in words: targets, strategy and ring timeout."""
    targets = [target_text(config, t) for t in level.targets]
    listed = targets[0] if len(targets) == 1 else ", ".join(targets[:-1]) + " and " + targets[-1]
    timeout = seconds_text(level.ring_timeout_seconds)
    # A lone engineer has no "at once" or "in turn"; a schedule may hold several people.
    if len(targets) == 1 and level.targets[0].kind == "engineer":
        return f"Ring {listed} for {timeout}"
    if level.strategy == "sequential":
        return f"Ring {listed} one at a time, {timeout} each"
    return f"Ring {listed} at the same time for {timeout}"


def repeats_text(repeat: int) -> str:
    """What happens after the last level."""
    if repeat == 0:
        return "Runs once through the levels, then gives up."
    rounds = repeat + 1
    times = "once more" if repeat == 1 else f"{repeat} more times"
    return f"Repeats the levels {times} ({rounds} rounds in all), then gives up."


def describe_policy(config: RoutingConfig, policy: EscalationPolicy) -> PolicySummary:
    """`policy` in words, with the products mapped to it."""
    products = tuple(sorted(code for code, name in config.products.items() if name == policy.name))
    return PolicySummary(
        name=policy.name,
        levels=tuple(level_text(config, level) for level in policy.levels),
        repeats=repeats_text(policy.repeat),
        products=products,
        is_default=policy.name == config.default_policy,
    )


def describe_policies(config: RoutingConfig) -> list[PolicySummary]:
    """Every policy in words, the default one first."""
    ordered = sorted(
        config.policies.values(), key=lambda p: (p.name != config.default_policy, p.name)
    )
    return [describe_policy(config, policy) for policy in ordered]


def product_policies(config: RoutingConfig) -> list[tuple[str, str]]:
    """(product code, policy name) for every mapped product, by code."""
    return sorted(config.products.items())


def engineer_shifts(
    config: RoutingConfig, key: str, start: datetime, end: datetime
) -> list[EngineerShift]:
    """Every shift of engineer `key` overlapping [start, end), across all schedules, in order."""
    found = [
        EngineerShift(name, schedule.time_zone, s.start, s.end)
        for name, schedule in config.schedules.items()
        for s in shifts(schedule, start, end)
        if s.engineer == key
    ]
    return sorted(found, key=lambda s: (s.start, s.schedule))


def key_of_engineer(config: RoutingConfig, engineer_id: int) -> str | None:
    """The configuration key of the Engineer row `engineer_id`, if it has one."""
    return next((k for k, r in config.engineers.items() if r.engineer_id == engineer_id), None)
