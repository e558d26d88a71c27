"""Routing configuration as code: the YAML format, its validation, and its export."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from kernel.phones import InvalidPhoneNumber, to_e164
from routing.policy import (
    DEFAULT_REPEAT,
    DEFAULT_RING_TIMEOUT,
    EscalationPolicy,
    Level,
    Responder,
    Step,
    Target,
    escalation_plan,
)
from routing.schedule import Override, Rotation, Schedule, gaps, local_to_utc

Path = tuple[str, ...]
COVERAGE_DAYS = 14
_LENGTH = re.compile(r"^\s*(\d+)\s*([hd])\s*$")


class RoutingConfigError(ValueError):
    """A configuration that cannot be loaded; `errors` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


_LANGUAGE_TAG = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


@dataclass(frozen=True)
class HotlineNumber:
    """One of the hotline's phone numbers: the language its callers hear, the escalation
    policy it rings (None: the product's), another language offered at its greeting, and the
    time zone of its region (for dates in texts to callers whose account names none)."""

    language: str
    policy: str | None = None
    offer: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class RoutingConfig:
    """Everything routing needs: engineers by key, schedules, policies and product mapping."""

    engineers: Mapping[str, Responder]
    schedules: Mapping[str, Schedule]
    policies: Mapping[str, EscalationPolicy]
    default_policy: str
    products: Mapping[str, str] = field(default_factory=dict)  # product code -> policy name
    numbers: Mapping[str, HotlineNumber] = field(default_factory=dict)  # E.164 -> number

    def policy_for(self, product_code: str | None, called: str | None = None) -> EscalationPolicy:
        """The policy of the number called if it names one, else the product's, else the
        default one for unmapped or unknown products."""
        number = self.numbers.get(called or "")
        if number is not None and number.policy is not None:
            return self.policies[number.policy]
        code = (product_code or "").strip().lower()
        return self.policies[self.products.get(code, self.default_policy)]

    def plan(self, product_code: str | None, t: datetime, called: str | None = None) -> list[Step]:
        """The ordered ring steps for a call to `called` about `product_code` at `t`."""
        policy = self.policy_for(product_code, called)
        return escalation_plan(policy, self.schedules, self.engineers, t)


def read_yaml(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """The YAML document in `text` and the line of every mapping key and list item in it."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source} line {mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise RoutingConfigError([f"{where}: not valid YAML ({problem})"]) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    duplicates: list[str] = []
    if node is not None:
        _note_lines(node, (), lines, duplicates, source)
    if duplicates:
        raise RoutingConfigError(duplicates)
    return data, lines


def _note_lines(
    node: yaml.Node, path: Path, lines: dict[Path, int], dups: list[str], source: str
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML keeps the last of two equal keys silently; a typo would vanish.
                dups.append(f"{source} line {line}: {key!r} is given twice")
            seen.add(key)
            lines.setdefault((*path, key), line)
            _note_lines(value_node, (*path, key), lines, dups, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _note_lines(item, (*path, str(index)), lines, dups, source)


def parse_routing_yaml(text: str, source: str = "routing.yaml") -> RoutingConfig:
    """The configuration in a YAML text, or RoutingConfigError naming each bad line."""
    data, lines = read_yaml(text, source)
    return parse_routing(data, lines, source)


def parse_routing(
    data: Any, lines: Mapping[Path, int] | None = None, source: str = "routing"
) -> RoutingConfig:
    """The configuration in plain data (parsed YAML or a stored document), validated."""
    return _Parser(source, lines or {}).config(data)


class _Parser:
    """Reads the plain data, collecting every error with the line it comes from."""

    def __init__(self, source: str, lines: Mapping[Path, int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[str] = []
        # Names defined in the file, valid or not: a reference to a definition that already
        # has an error is not reported again as unknown.
        self.declared: dict[str, set[str]] = {"engineer": set(), "schedule": set(), "policy": set()}

    def error(self, path: Path, message: str) -> None:
        while path and path not in self.lines:
            path = path[:-1]
        line = self.lines.get(path)
        self.errors.append(f"{self.source}{f' line {line}' if line else ''}: {message}")

    def mapping(
        self,
        value: Any,
        path: Path,
        what: str,
        required: tuple[str, ...],
        optional: tuple[str, ...],
    ) -> dict[str, Any] | None:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping of keys to values")
            return None
        result = {str(k): v for k, v in value.items()}
        for key in result:
            if key not in required and key not in optional:
                known = ", ".join((*required, *optional))
                self.error((*path, key), f"{what} has unknown key {key!r} (known: {known})")
        for key in required:
            if key not in result:
                self.error(path, f"{what} needs {key!r}")
        return result

    def named(self, value: Any, path: Path, what: str) -> dict[str, Any]:
        """A mapping whose keys are names the configuration chooses (engineers, schedules...)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping of names to definitions")
            return {}
        return {str(k): v for k, v in value.items()}

    def items(self, value: Any, path: Path, what: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"{what} must be a list")
            return []
        return value

    def text(self, value: Any, path: Path, what: str) -> str | None:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
        self.error(path, f"{what} must be a non-empty text")
        return None

    def integer(self, value: Any, path: Path, what: str, low: int, high: int) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.error(path, f"{what} must be a whole number from {low} to {high}, not {value!r}")
        return None

    def zone(self, value: Any, path: Path, what: str) -> str | None:
        name = self.text(value, path, what)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(path, f"{what} {name!r} is not a time zone name such as Europe/London")
            return None
        return name

    def local_time(self, value: Any, path: Path, what: str, zone: str) -> datetime | None:
        """A naive wall-clock time in `zone` (an aware value is converted into it)."""
        if isinstance(value, datetime):
            parsed: datetime | None = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        else:
            try:
                parsed = datetime.fromisoformat(str(value).strip())
            except ValueError:
                parsed = None
        if parsed is None:
            self.error(path, f"{what} {value!r} is not a date and time like 2026-01-05 09:00")
            return None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        return parsed

    def instant(self, value: Any, path: Path, what: str, zone: str) -> datetime | None:
        """An aware instant; a time without an offset is local to `zone`."""
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        local = self.local_time(value, path, what, zone)
        return local_to_utc(local, zone) if local else None

    def config(self, data: Any) -> RoutingConfig:
        top = self.mapping(
            data,
            (),
            "the configuration",
            ("engineers", "policies", "default_policy"),
            ("schedules", "products", "numbers"),
        )
        if top is None:
            raise RoutingConfigError(self.errors)
        engineers = self.engineers(top.get("engineers"))
        schedules = self.schedules(top.get("schedules"), engineers)
        policies = self.policies(top.get("policies"), engineers, schedules)
        default = top.get("default_policy")
        if "default_policy" in top and str(default) not in self.declared["policy"]:
            self.error(("default_policy",), f"default_policy names unknown policy {default!r}")
        products = self.products(top.get("products"), policies)
        numbers = self.numbers(top.get("numbers"), policies)
        if self.errors:
            raise RoutingConfigError(self.errors)
        return RoutingConfig(engineers, schedules, policies, str(default), products, numbers)

    def numbers(
        self, value: Any, policies: Mapping[str, EscalationPolicy]
    ) -> dict[str, HotlineNumber]:
        path: Path = ("numbers",)
        result: dict[str, HotlineNumber] = {}
        for raw, spec in self.named(value, path, "numbers").items():
            where = (*path, raw)
            number = self.phone(raw, where, f'hotline number "{raw}"')
            fields = self.mapping(
                spec, where, f'number "{raw}"', ("language",), ("policy", "offer", "timezone")
            )
            if number is None or fields is None:
                continue
            language = self.language(fields.get("language"), (*where, "language"))
            offer = None
            if "offer" in fields:
                offer = self.language(fields.get("offer"), (*where, "offer"))
            timezone = None
            if "timezone" in fields:
                timezone = self.zone(fields.get("timezone"), (*where, "timezone"), "timezone")
            policy = None
            if "policy" in fields:
                policy = str(fields["policy"])
                if policy not in self.declared["policy"]:
                    self.error(
                        (*where, "policy"), f'number "{raw}" names unknown policy {policy!r}'
                    )
                    continue
                if policy not in policies:
                    continue
            if language is not None:
                result[number] = HotlineNumber(language, policy, offer, timezone)
        return result

    def language(self, value: Any, path: Path) -> str | None:
        tag = self.text(value, path, "language")
        if tag is not None and not _LANGUAGE_TAG.match(tag):
            self.error(path, f"language {tag!r} must be a tag such as en-GB or de-DE")
            return None
        return tag

    def engineers(self, value: Any) -> dict[str, Responder]:
        path: Path = ("engineers",)
        result: dict[str, Responder] = {}
        phones: dict[str, str] = {}
        section = self.named(value, path, "engineers")
        if not section:
            self.error(path, "engineers must list at least one engineer")
            return result
        self.declared["engineer"] = set(section)
        for key, spec in section.items():
            where = (*path, key)
            what = f'engineer "{key}"'
            fields = self.mapping(
                spec, where, what, ("name", "phone"), ("email", "timezone", "active")
            )
            if fields is None:
                continue
            name = self.text(fields.get("name"), (*where, "name"), f"{what} name")
            phone = self.phone(fields.get("phone"), (*where, "phone"), what)
            zone = self.zone(
                fields.get("timezone", "UTC"), (*where, "timezone"), f"{what} timezone"
            )
            email = fields.get("email")
            if email is not None and (not isinstance(email, str) or "@" not in email):
                self.error((*where, "email"), f"{what} email {email!r} is not an email address")
            active = fields.get("active", True)
            if not isinstance(active, bool):
                self.error((*where, "active"), f"{what} active must be true or false")
            if phone and phone in phones:
                self.error((*where, "phone"), f'{what} has the phone of "{phones[phone]}"')
            if name and phone and zone:
                phones[phone] = key
                result[key] = Responder(key, name, phone, email, zone, active is not False)
        return result

    def phone(self, value: Any, path: Path, what: str) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(str(value))
        except InvalidPhoneNumber as exc:
            self.error(path, f"{what} phone: {exc}")
            return None

    def schedules(self, value: Any, engineers: Mapping[str, Responder]) -> dict[str, Schedule]:
        path: Path = ("schedules",)
        result: dict[str, Schedule] = {}
        section = self.named(value, path, "schedules")
        self.declared["schedule"] = set(section)
        for name, spec in section.items():
            where = (*path, name)
            what = f'schedule "{name}"'
            fields = self.mapping(spec, where, what, ("timezone",), ("layers", "overrides"))
            if fields is None:
                continue
            zone = self.zone(fields.get("timezone"), (*where, "timezone"), f"{what} timezone")
            if zone is None:
                continue
            layers = [
                self.layer(
                    item, (*where, "layers", str(i)), f"{what} layer {i + 1}", zone, engineers
                )
                for i, item in enumerate(self.items(fields.get("layers"), (*where, "layers"), what))
            ]
            overrides = [
                self.override(item, (*where, "overrides", str(i)), f"{what} override {i + 1}", zone)
                for i, item in enumerate(
                    self.items(fields.get("overrides"), (*where, "overrides"), what)
                )
            ]
            for i, override in enumerate(overrides):
                if override and override.engineer not in self.declared["engineer"]:
                    self.error(
                        (*where, "overrides", str(i), "engineer"),
                        f'{what} override {i + 1} names unknown engineer "{override.engineer}"',
                    )
            result[name] = Schedule(
                name,
                zone,
                tuple(layer for layer in layers if layer),
                tuple(o for o in overrides if o),
            )
        return result

    def layer(
        self, spec: Any, path: Path, what: str, zone: str, engineers: Mapping[str, Responder]
    ) -> Rotation | None:
        fields = self.mapping(
            spec,
            path,
            what,
            ("rotation", "start", "participants"),
            ("length", "timezone", "end"),
        )
        if fields is None:
            return None
        kind = fields.get("rotation")
        if kind not in ("daily", "weekly", "custom"):
            self.error((*path, "rotation"), f"{what} rotation must be daily, weekly or custom")
            return None
        layer_zone = self.zone(
            fields.get("timezone", zone), (*path, "timezone"), f"{what} timezone"
        )
        length, unit = self.length(kind, fields, path, what)
        participants: list[str] = []
        items = self.items(fields.get("participants"), (*path, "participants"), what)
        for i, item in enumerate(items):
            key = str(item)
            if key not in self.declared["engineer"]:
                self.error(
                    (*path, "participants", str(i)), f'{what} names unknown engineer "{key}"'
                )
            participants.append(key)
        if not items:
            self.error((*path, "participants"), f"{what} needs at least one participant")
        if layer_zone is None or length is None:
            return None
        start = self.local_time(fields.get("start"), (*path, "start"), f"{what} start", layer_zone)
        end = None
        if fields.get("end") is not None:
            end = self.local_time(fields["end"], (*path, "end"), f"{what} end", layer_zone)
            if end is None or (start and end <= start):
                self.error((*path, "end"), f"{what} must end after it starts")
                return None
        if start is None:
            return None
        return Rotation(kind, start, layer_zone, tuple(participants), length, unit, end)

    def length(
        self, kind: str, fields: Mapping[str, Any], path: Path, what: str
    ) -> tuple[int | None, Any]:
        raw = fields.get("length")
        where = (*path, "length")
        if kind == "daily":
            return self.integer(raw or 1, where, f"{what} length (days)", 1, 365), "days"
        if kind == "weekly":
            return self.integer(raw or 1, where, f"{what} length (weeks)", 1, 52), "weeks"
        match = _LENGTH.match(str(raw)) if raw is not None else None
        if match is None or int(match.group(1)) < 1:
            self.error(where, f"{what} length must be hours or days, like 12h or 3d")
            return None, "hours"
        return int(match.group(1)), ("hours" if match.group(2) == "h" else "days")

    def override(self, spec: Any, path: Path, what: str, zone: str) -> Override | None:
        fields = self.mapping(spec, path, what, ("engineer", "start", "end"), ())
        if fields is None or "engineer" not in fields:
            return None
        engineer = self.text(fields["engineer"], (*path, "engineer"), f"{what} engineer")
        start = self.instant(fields.get("start"), (*path, "start"), f"{what} start", zone)
        end = self.instant(fields.get("end"), (*path, "end"), f"{what} end", zone)
        if engineer is None or start is None or end is None:
            return None
        if end <= start:
            self.error((*path, "end"), f"{what} must end after it starts")
            return None
        return Override(engineer, start, end)

    def policies(
        self, value: Any, engineers: Mapping[str, Responder], schedules: Mapping[str, Schedule]
    ) -> dict[str, EscalationPolicy]:
        path: Path = ("policies",)
        result: dict[str, EscalationPolicy] = {}
        section = self.named(value, path, "policies")
        self.declared["policy"] = set(section)
        for name, spec in section.items():
            where = (*path, name)
            what = f'policy "{name}"'
            fields = self.mapping(spec, where, what, ("levels",), ("repeat",))
            if fields is None:
                continue
            repeat = self.integer(
                fields.get("repeat", DEFAULT_REPEAT), (*where, "repeat"), f"{what} repeat", 0, 10
            )
            items = self.items(fields.get("levels"), (*where, "levels"), what)
            if not items and "levels" in fields:
                self.error((*where, "levels"), f"{what} has no levels")
            levels = [
                self.level(
                    item, (*where, "levels", str(i)), f"{what} level {i + 1}", engineers, schedules
                )
                for i, item in enumerate(items)
            ]
            if repeat is not None and all(levels) and levels:
                result[name] = EscalationPolicy(name, tuple(lv for lv in levels if lv), repeat)
        return result

    def level(
        self,
        spec: Any,
        path: Path,
        what: str,
        engineers: Mapping[str, Responder],
        schedules: Mapping[str, Schedule],
    ) -> Level | None:
        fields = self.mapping(spec, path, what, ("targets",), ("strategy", "ring_timeout"))
        if fields is None:
            return None
        strategy = fields.get("strategy", "simultaneous")
        if strategy not in ("simultaneous", "sequential"):
            self.error((*path, "strategy"), f"{what} strategy must be simultaneous or sequential")
        timeout = self.integer(
            fields.get("ring_timeout", DEFAULT_RING_TIMEOUT),
            (*path, "ring_timeout"),
            f"{what} ring_timeout (seconds)",
            5,
            120,
        )
        targets: list[Target] = []
        bad = False
        items = self.items(fields.get("targets"), (*path, "targets"), what)
        for i, item in enumerate(items):
            target = self.target(item, (*path, "targets", str(i)), what, engineers, schedules)
            bad = bad or target is None
            if target:
                targets.append(target)
        if not items:
            self.error((*path, "targets"), f"{what} has no targets")
            return None
        if bad or timeout is None or strategy not in ("simultaneous", "sequential"):
            return None
        reachable = {k for k, r in engineers.items() if r.reachable}
        if not any(
            (t.kind == "engineer" and t.name in reachable)
            or (t.kind == "schedule" and reachable & set(schedules[t.name].participants()))
            for t in targets
        ):
            self.error(
                (*path, "targets"),
                f"{what} cannot reach anyone: no target is an active engineer with a phone",
            )
            return None
        return Level(tuple(targets), strategy, timeout)

    def target(
        self,
        spec: Any,
        path: Path,
        what: str,
        engineers: Mapping[str, Responder],
        schedules: Mapping[str, Schedule],
    ) -> Target | None:
        if not isinstance(spec, dict) or len(spec) != 1:
            self.error(path, f"{what} targets are written 'schedule: NAME' or 'engineer: KEY'")
            return None
        ((kind, name),) = spec.items()
        name = str(name)
        if kind == "schedule" and name in schedules:
            return Target("schedule", name)
        if kind == "engineer" and name in engineers:
            return Target("engineer", name)
        if kind in ("schedule", "engineer"):
            if name not in self.declared[kind]:
                self.error(path, f'{what} names unknown {kind} "{name}"')
        else:
            self.error(path, f"{what} targets are written 'schedule: NAME' or 'engineer: KEY'")
        return None

    def products(self, value: Any, policies: Mapping[str, EscalationPolicy]) -> dict[str, str]:
        path: Path = ("products",)
        result: dict[str, str] = {}
        for code, policy in self.named(value, path, "products").items():
            if str(policy) not in self.declared["policy"]:
                self.error((*path, code), f'product "{code}" maps to unknown policy {policy!r}')
            elif policy in policies:
                result[code.strip().lower()] = str(policy)
        return result


def coverage_warnings(config: RoutingConfig, now: datetime, days: int = COVERAGE_DAYS) -> list[str]:
    """One line per gap, in the next `days` days, of each schedule a policy rings."""
    used = sorted(
        {
            target.name
            for policy in config.policies.values()
            for level in policy.levels
            for target in level.targets
            if target.kind == "schedule"
        }
    )
    warnings = []
    for name in used:
        schedule = config.schedules[name]
        zone = ZoneInfo(schedule.time_zone)
        for start, end in gaps(schedule, now, now + timedelta(days=days)):
            warnings.append(
                f'schedule "{name}" has nobody on call from '
                f"{start.astimezone(zone):%a %d %b %H:%M} to {end.astimezone(zone):%a %d %b %H:%M} "
                f"({schedule.time_zone})"
            )
    return warnings


def _local_text(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")


def routing_to_data(config: RoutingConfig) -> dict[str, Any]:
    """The configuration as plain data in the YAML format (what export writes)."""
    engineers: dict[str, Any] = {}
    for key, r in config.engineers.items():
        spec: dict[str, Any] = {"name": r.name, "phone": r.phone}
        if r.email:
            spec["email"] = r.email
        spec["timezone"] = r.timezone
        if not r.active:
            spec["active"] = False
        engineers[key] = spec
    schedules: dict[str, Any] = {}
    for name, schedule in config.schedules.items():
        zone = ZoneInfo(schedule.time_zone)
        schedules[name] = {
            "timezone": schedule.time_zone,
            "layers": [_layer_data(layer, schedule.time_zone) for layer in schedule.layers],
            "overrides": [
                {
                    "engineer": o.engineer,
                    "start": o.start.astimezone(zone).isoformat(),
                    "end": o.end.astimezone(zone).isoformat(),
                }
                for o in schedule.overrides
            ],
        }
    policies = {
        name: {
            "repeat": policy.repeat,
            "levels": [
                {
                    "targets": [{t.kind: t.name} for t in level.targets],
                    "strategy": level.strategy,
                    "ring_timeout": level.ring_timeout_seconds,
                }
                for level in policy.levels
            ],
        }
        for name, policy in config.policies.items()
    }
    return {
        "engineers": engineers,
        "schedules": schedules,
        "policies": policies,
        "default_policy": config.default_policy,
        "products": dict(config.products),
        **({"numbers": _numbers_data(config)} if config.numbers else {}),
    }


def _numbers_data(config: RoutingConfig) -> dict[str, Any]:
    numbers: dict[str, Any] = {}
    for phone, number in config.numbers.items():
        spec: dict[str, Any] = {"language": number.language}
        if number.policy is not None:
            spec["policy"] = number.policy
        if number.offer is not None:
            spec["offer"] = number.offer
        if number.timezone is not None:
            spec["timezone"] = number.timezone
        numbers[phone] = spec
    return numbers


def _layer_data(layer: Rotation, schedule_zone: str) -> dict[str, Any]:
    data: dict[str, Any] = {"rotation": layer.kind}
    if layer.kind == "custom":
        data["length"] = f"{layer.length}{'h' if layer.unit == 'hours' else 'd'}"
    elif layer.length != 1:
        data["length"] = layer.length
    data["start"] = _local_text(layer.start)
    if layer.end is not None:
        data["end"] = _local_text(layer.end)
    if layer.time_zone != schedule_zone:
        data["timezone"] = layer.time_zone
    data["participants"] = list(layer.participants)
    return data


def export_yaml(config: RoutingConfig) -> str:
    """The configuration as a YAML text that `parse_routing_yaml` reads back unchanged."""
    return yaml.safe_dump(
        routing_to_data(config), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
