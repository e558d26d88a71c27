"""The routing YAML: validation messages that name the line, warnings, and export round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routing.config import (
    RoutingConfigError,
    coverage_warnings,
    export_yaml,
    parse_routing,
    parse_routing_yaml,
    routing_to_data,
)
from routing.store import demo_routing_text

VALID = """\
engineers:
  ann:
    name: Ann Ops
    phone: "+15005550101"
    timezone: Europe/London
  bob:
    name: Bob Ops
    phone: "+15005550102"
    timezone: America/New_York
schedules:
  primary:
    timezone: Europe/London
    layers:
      - rotation: weekly
        start: 2026-06-01 09:00
        participants: [ann, bob]
    overrides:
      - engineer: bob
        start: 2026-06-10 10:00
        end: 2026-06-10 12:00
policies:
  default:
    levels:
      - targets:
          - schedule: primary
      - targets:
          - engineer: ann
          - engineer: bob
        strategy: sequential
        ring_timeout: 30
default_policy: default
products:
  db: default
"""

LEVELS = """\
    levels:
      - targets:
          - schedule: primary
      - targets:
          - engineer: ann
          - engineer: bob
        strategy: sequential
        ring_timeout: 30
"""

ERRORS = [
    (
        "unknown schedule in a level",
        ("- schedule: primary", "- schedule: primery"),
        'routing.yaml line 25: policy "default" level 1 names unknown schedule "primery"',
    ),
    (
        "unknown engineer in a rotation",
        ("[ann, bob]", "[ann, bobby]"),
        'routing.yaml line 16: schedule "primary" layer 1 names unknown engineer "bobby"',
    ),
    (
        "unknown engineer in a level",
        ("- engineer: bob\n        strategy", "- engineer: rob\n        strategy"),
        'routing.yaml line 28: policy "default" level 2 names unknown engineer "rob"',
    ),
    (
        "bad time zone",
        ("timezone: Europe/London\n    layers", "timezone: Europe/Lundon\n    layers"),
        "routing.yaml line 12: schedule \"primary\" timezone 'Europe/Lundon' is not a time zone"
        " name such as Europe/London",
    ),
    (
        "bad phone",
        ('phone: "+15005550102"', 'phone: "+1500"'),
        "routing.yaml line 8: engineer \"bob\" phone: '+1500' has the wrong number of digits"
        " for its country",
    ),
    (
        "two engineers with one phone",
        ('phone: "+15005550102"', 'phone: "+1 500 555 0101"'),
        'routing.yaml line 8: engineer "bob" has the phone of "ann"',
    ),
    (
        "product mapped to an unknown policy",
        ("db: default", "db: urgent"),
        "routing.yaml line 33: product \"db\" maps to unknown policy 'urgent'",
    ),
    (
        "default policy unknown",
        ("default_policy: default", "default_policy: standard"),
        "routing.yaml line 31: default_policy names unknown policy 'standard'",
    ),
    (
        "no default policy",
        ("default_policy: default\n", ""),
        "routing.yaml line 1: the configuration needs 'default_policy'",
    ),
    (
        "policy with no levels",
        (LEVELS, "    levels: []\n"),
        'routing.yaml line 23: policy "default" has no levels',
    ),
    (
        "a typo in a key",
        ("strategy: sequential", "stratgey: sequential"),
        "routing.yaml line 29: policy \"default\" level 2 has unknown key 'stratgey'"
        " (known: targets, strategy, ring_timeout)",
    ),
    (
        "unknown rotation kind",
        ("rotation: weekly", "rotation: monthly"),
        'routing.yaml line 14: schedule "primary" layer 1 rotation must be daily, weekly or custom',
    ),
    (
        "custom rotation without a length",
        ("rotation: weekly", "rotation: custom"),
        'routing.yaml line 14: schedule "primary" layer 1 length must be hours or days,'
        " like 12h or 3d",
    ),
    (
        "override ending before it starts",
        ("end: 2026-06-10 12:00", "end: 2026-06-10 09:00"),
        'routing.yaml line 20: schedule "primary" override 1 must end after it starts',
    ),
    (
        "ring timeout out of range",
        ("ring_timeout: 30", "ring_timeout: 0"),
        'routing.yaml line 30: policy "default" level 2 ring_timeout (seconds) must be a whole'
        " number from 5 to 120, not 0",
    ),
    (
        "the same key twice",
        ("  bob:\n    name: Bob", "  ann:\n    name: Bob"),
        "routing.yaml line 6: 'ann' is given twice",
    ),
    (
        "not YAML at all",
        ("[ann, bob]", "[ann, bob"),
        "routing.yaml line 17: not valid YAML (expected ',' or ']', but got ':')",
    ),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_name_the_line(edit: tuple[str, str], message: str) -> None:
    old, new = edit
    assert old in VALID
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing_yaml(VALID.replace(old, new, 1))
    assert caught.value.errors == [message]


def test_a_level_that_cannot_reach_anyone_is_refused() -> None:
    text = VALID.replace(
        "timezone: Europe/London\n  bob:", "timezone: Europe/London\n    active: false\n  bob:"
    )
    text = text.replace(
        "timezone: America/New_York\n", "timezone: America/New_York\n    active: false\n"
    )
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing_yaml(text)
    assert caught.value.errors == [
        f'routing.yaml line {line}: policy "default" level {level} cannot reach anyone:'
        " no target is an active engineer with a phone"
        for line, level in ((26, 1), (28, 2))
    ]


def test_every_error_is_reported_at_once() -> None:
    text = VALID.replace("db: default", "db: urgent").replace("[ann, bob]", "[ann, zed]")
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing_yaml(text, "oncall.yaml")
    assert [e.split(":")[0] for e in caught.value.errors] == [
        "oncall.yaml line 16",
        "oncall.yaml line 33",
    ]


def test_valid_configuration_reads_as_written() -> None:
    config = parse_routing_yaml(VALID)
    assert config.engineers["bob"].phone == "+15005550102"
    layer = config.schedules["primary"].layers[0]
    assert (layer.kind, layer.length, layer.unit, layer.time_zone) == (
        "weekly",
        1,
        "weeks",
        "Europe/London",
    )
    override = config.schedules["primary"].overrides[0]
    assert override.start == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 10:00 BST
    policy = config.policies["default"]
    assert (policy.repeat, policy.levels[1].strategy, policy.levels[1].ring_timeout_seconds) == (
        2,
        "sequential",
        30,
    )


def test_products_map_to_policies_and_others_use_the_default() -> None:
    text = VALID.replace("  db: default", "  db: night").replace(
        "default_policy:",
        "  night:\n    repeat: 0\n    levels:\n      - targets: [engineer: bob]\ndefault_policy:",
    )
    config = parse_routing_yaml(text)
    t = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)  # ann's week
    assert [[r.key for r in s.responders] for s in config.plan("DB", t)] == [["bob"]]
    assert [[r.key for r in s.responders] for s in config.plan("web", t)][:3] == [
        ["ann"],
        ["ann"],
        ["bob"],
    ]
    assert config.plan(None, t) == config.plan("web", t)


@pytest.mark.parametrize("text", [VALID, demo_routing_text()], ids=["sample", "demo"])
def test_export_round_trips(text: str) -> None:
    config = parse_routing_yaml(text)
    exported = export_yaml(config)
    again = parse_routing_yaml(exported, "exported.yaml")
    assert again == config
    assert export_yaml(again) == exported
    # The stored form is plain JSON-able data that parses to the same configuration.
    assert parse_routing(routing_to_data(config)) == config


def test_custom_lengths_and_layer_zones_round_trip() -> None:
    text = VALID.replace(
        "      - rotation: weekly\n",
        "      - rotation: custom\n        length: 12h\n        timezone: Asia/Tokyo\n"
        "        end: 2026-09-01 09:00\n",
    )
    config = parse_routing_yaml(text)
    layer = config.schedules["primary"].layers[0]
    assert (layer.kind, layer.length, layer.unit, layer.time_zone) == (
        "custom",
        12,
        "hours",
        "Asia/Tokyo",
    )
    assert "length: 12h" in export_yaml(config)
    assert parse_routing_yaml(export_yaml(config)) == config


GAPPY = """\
engineers:
  ann: {name: Ann, phone: "+15005550101"}
  bob: {name: Bob, phone: "+15005550102"}
schedules:
  primary:
    timezone: Europe/London
    layers:
      - {rotation: daily, start: 2026-12-01 09:00, end: 2026-12-12 02:00, participants: [ann]}
      - {rotation: daily, start: 2026-12-12 09:00, participants: [bob]}
  unused:
    timezone: UTC
policies:
  default:
    levels:
      - targets: [schedule: primary]
default_policy: default
"""


def test_coverage_gaps_in_the_next_14_days_are_warnings() -> None:
    config = parse_routing_yaml(GAPPY)
    assert coverage_warnings(config, datetime(2026, 12, 5, tzinfo=UTC)) == [
        'schedule "primary" has nobody on call from Sat 12 Dec 02:00 to Sat 12 Dec 09:00'
        " (Europe/London)"
    ]
    assert coverage_warnings(config, datetime(2026, 12, 13, tzinfo=UTC)) == []
    # Before the first layer starts the schedule is uncovered too.
    assert coverage_warnings(config, datetime(2026, 11, 30, tzinfo=UTC))[0].startswith(
        'schedule "primary" has nobody on call from Mon 30 Nov 00:00 to Tue 01 Dec 09:00'
    )
