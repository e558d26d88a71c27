"""The hotline's numbers in the routing YAML: language, policy and offer, validated and exported."""

from __future__ import annotations

import pytest

from routing.config import HotlineNumber, RoutingConfigError, export_yaml, parse_routing_yaml

BASE = """\
engineers:
  ann:
    name: Ann Berg
    phone: "+15005550101"
    timezone: Europe/Berlin
  bob:
    name: Bob Ops
    phone: "+15005550102"
    timezone: America/New_York
policies:
  emea:
    levels:
      - targets: [{engineer: ann}]
  americas:
    levels:
      - targets: [{engineer: bob}]
default_policy: americas
"""


def test_each_number_has_its_language_policy_and_offer_and_picks_the_policy_to_ring() -> None:
    config = parse_routing_yaml(
        BASE
        + 'numbers:\n  "+44 20 7946 0000": {language: en-GB, policy: emea, offer: de-DE}\n'
        + '  "+15550100000": {language: en-US}\n'
    )
    assert config.numbers == {
        "+442079460000": HotlineNumber("en-GB", "emea", "de-DE"),
        "+15550100000": HotlineNumber("en-US"),
    }
    assert config.policy_for(None, called="+442079460000").name == "emea"
    # A number with no policy of its own rings the product's (here the default).
    assert config.policy_for(None, called="+15550100000").name == "americas"
    assert config.policy_for(None).name == "americas"


def test_numbers_survive_an_export_round_trip() -> None:
    config = parse_routing_yaml(
        BASE
        + 'numbers:\n  "+493055500000": {language: de-DE, offer: en-GB, timezone: Europe/Berlin}\n'
    )
    assert config.numbers["+493055500000"].timezone == "Europe/Berlin"
    assert parse_routing_yaml(export_yaml(config)).numbers == config.numbers


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('"call us": {language: de-DE}', "is not a phone number"),
        ('"+493055500000": {language: German}', "must be a tag such as en-GB"),
        ('"+493055500000": {language: de-DE, policy: apac}', "unknown policy 'apac'"),
        ('"+493055500000": {policy: emea}', "needs 'language'"),
        ('"+493055500000": {language: de-DE, voice: alice}', "unknown key 'voice'"),
        ('"+493055500000": {language: de-DE, timezone: Berlin}', "is not a time zone name"),
    ],
)
def test_a_bad_number_is_named_with_its_line(spec: str, message: str) -> None:
    with pytest.raises(RoutingConfigError) as raised:
        parse_routing_yaml(BASE + f"numbers:\n  {spec}\n", "numbers.yaml")
    assert message in str(raised.value)
    assert "numbers.yaml line " in str(raised.value)
