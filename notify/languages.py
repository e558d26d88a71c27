"""The words a customer's texts and emails need beyond their templates, in each language the
hotline speaks: dates, durations and call outcomes.

Rules, stated once:
- A language is named by a tag ('de-DE', 'en-GB'); its primary subtag picks the catalogue, an
  unknown or missing tag is English. The voice catalogues (ivr.languages) use the same keys.
- A text's templates live in notify/templates/<primary>/ and fall back to the English ones
  (notify/templates/) only for kinds that are never sent to a customer (staff read English).
- Dates are spelled out here, never with strftime's %A/%B, so the words do not depend on the
  server's locale.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

ENGLISH = "en"
LANGUAGES = (ENGLISH, "de")
# Each language's name in English: staff texts say which language a caller speaks.
NAMES_FOR_STAFF = {"en": "English", "de": "German"}

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}
# What happened on a call, as the call summary's "Outcome" line says it (by CallOutcome value).
OUTCOMES = {
    "en": {
        "connected": "connected to an engineer",
        "missed": "no engineer accepted; message taken",
        "abandoned_ringing": "hung up while engineers were rung",
        "message": "message left",
        "refused": "not taken",
        "transferred": "transferred to account management",
        "abandoned": "ended before we could help",
    },
    "de": {
        "connected": "mit einem Techniker verbunden",
        "missed": "kein Techniker erreicht; Nachricht aufgenommen",
        "abandoned_ringing": "aufgelegt, während wir Techniker anriefen",
        "message": "Nachricht hinterlassen",
        "refused": "nicht angenommen",
        "transferred": "an die Kundenbetreuung weitergeleitet",
        "abandoned": "beendet, bevor wir helfen konnten",
    },
}


def primary(tag: str | None) -> str:
    """The catalogue key of a language tag ('de-AT' -> 'de'); English when unknown or None."""
    key = (tag or "").split("-")[0].lower()
    return key if key in LANGUAGES else ENGLISH


def spoken_by_caller(tag: str | None) -> str | None:
    """For staff texts: the caller's language in English words, None when it is English."""
    key = primary(tag)
    return None if key == ENGLISH else NAMES_FOR_STAFF[key]


def date_words(moment: datetime, where: tzinfo, language: str | None = None) -> str:
    """'3 March 2026' / '3. März 2026' on the wall clock of `where`."""
    local = moment.astimezone(where)
    key = primary(language)
    month = _MONTHS[key][local.month - 1]
    if key == "de":
        return f"{local.day}. {month} {local.year}"
    return f"{local.day} {month} {local.year}"


def human_datetime(moment: datetime, where: tzinfo, language: str | None = None) -> str:
    """'Saturday 5 December 2026 at 2:05 PM CET' / 'Samstag, 5. Dezember 2026, 14:05 Uhr CET'."""
    local = moment.astimezone(where)
    key = primary(language)
    day, month = _DAYS[key][local.weekday()], _MONTHS[key][local.month - 1]
    if key == "de":
        return f"{day}, {local.day}. {month} {local.year}, {local:%H:%M} Uhr {local.tzname()}"
    clock = local.strftime("%I:%M %p").lstrip("0")
    return f"{day} {local.day} {month} {local.year} at {clock} {local.tzname()}"


def human_time(moment: datetime, where: tzinfo, language: str | None = None) -> str:
    """'2:05 PM CET' / '14:05 Uhr CET' on the wall clock of `where`."""
    local = moment.astimezone(where)
    if primary(language) == "de":
        return f"{local:%H:%M} Uhr {local.tzname()}"
    return f"{local.strftime('%I:%M %p').lstrip('0')} {local.tzname()}"


def duration_words(minutes: int, language: str | None = None) -> str:
    """A response target as said after 'within' / 'innerhalb von': '4 hours', '4 Stunden'."""
    if primary(language) == "de":
        # Dative, as "innerhalb von" takes it: 1 Tag, 2 Tagen; 1 Stunde, 4 Stunden.
        if minutes % 1440 == 0:
            days = minutes // 1440
            return f"{days} Tag" + ("en" if days != 1 else "")
        if minutes % 60 == 0:
            hours = minutes // 60
            return f"{hours} Stunde" + ("n" if hours != 1 else "")
        return f"{minutes} Minuten"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minutes"


def duration_of_call(seconds: int | None, language: str | None = None) -> str:
    """A call's length as the summary gives it: '3 min 5 s' / '3 Min. 5 Sek.'."""
    if seconds is None:
        return "-"
    if primary(language) == "de":
        return f"{seconds // 60} Min. {seconds % 60} Sek."
    return f"{seconds // 60} min {seconds % 60} s"


def outcome_words(outcome: str, language: str | None = None) -> str:
    """A call outcome in the reader's words (the raw value if the catalogue lacks it)."""
    return OUTCOMES[primary(language)].get(outcome, outcome)
