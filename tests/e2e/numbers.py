"""Two hotline numbers for the language tests: a German one offering English, and the reverse."""

GERMAN_NUMBER = "+4930555000"
ENGLISH_NUMBER = "+15550100000"
ENGINEER_NAME = "Ann On-Call"
TWO_LANGUAGES = f"""
engineers:
  ann:
    name: {ENGINEER_NAME}
    phone: "+15005550101"
    timezone: Europe/Berlin
schedules: {{}}
policies:
  emea:
    levels:
      - targets: [{{engineer: ann}}]
        ring_timeout: 20
default_policy: emea
numbers:
  "{GERMAN_NUMBER}":
    language: de-DE
    policy: emea
    offer: en-GB
    timezone: Europe/Berlin
  "{ENGLISH_NUMBER}":
    language: en-US
    offer: de-DE
"""
