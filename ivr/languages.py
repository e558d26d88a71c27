"""The caller's prompts in each language the hotline speaks, chosen by the number called."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from entitlement.limits import Limit
from entitlement.verify import PinCheck
from ivr.prompts import ENGLISH, Prompts
from models import PinOutcome

GERMAN = Prompts(
    language="de-DE",
    NAME="Deutsch",
    SWITCH_TO="Für Deutsch, drücken Sie 9.",
    GREETING="Sev-1 Hotline.",
    ENTER_PIN="Geben Sie Ihre PIN ein.",
    NO_PIN_HINT="Keine PIN? Drücken Sie zweimal Stern.",
    PRIVILEGED_HINT="Für eine PIN, die mit P beginnt, drücken Sie Stern und dann die Ziffern.",
    SEVEN_FOR_P=(
        "Für eine PIN, die mit P beginnt, drücken Sie Stern statt 7 und dann die übrigen Ziffern."
    ),
    NO_INPUT_PIN="Ich habe keine PIN gehört.",
    TRY_AGAIN="Bitte versuchen Sie es noch einmal.",
    HOW_TO_GET_PIN="Ihre Support-PIN finden Sie im Kundenportal, {portal}.",
    ASK_PRODUCT_ITEM="Für {product}, drücken Sie {key}.",
    NO_INPUT_MENU="Ich habe keine Auswahl gehört.",
    INVALID_CHOICE="Das ist keine der Möglichkeiten.",
    ASK_SEVERITY="Totalausfall? Drücken Sie 1. Sonst die 2.",
    SEVERITY_ASSUMED="Wir behandeln das als Totalausfall.",
    ASK_SEVERITY_DETAIL=(
        "Ist die Arbeit stark beeinträchtigt, drücken Sie 2. "
        "Für eine Frage oder ein kleines Problem, drücken Sie 3."
    ),
    DETAIL_ASSUMED="Wir behandeln das als starke Beeinträchtigung.",
    LEAVE_MESSAGE_WITH_TARGET=(
        "Der Support meldet sich innerhalb von {target}. "
        "Bitte beschreiben Sie das Problem nach dem Ton und drücken Sie dann eine Taste."
    ),
    CONNECTING="Wir verbinden Sie mit dem Bereitschaftstechniker.",
    THROUGH="Sie sind verbunden.",
    LEAVE_MESSAGE=(
        "Bitte beschreiben Sie das Problem nach dem Ton und drücken Sie dann eine Taste."
    ),
    LEAVE_MESSAGE_AFTER_REFUSAL=(
        "Sie können nach dem Ton eine Nachricht hinterlassen und dann eine Taste drücken."
    ),
    CALLBACK_PROMISE="Ein Techniker ruft Sie innerhalb von {minutes} Minuten zurück.",
    NOBODY_ANSWERED="Wir konnten keinen Bereitschaftstechniker erreichen.",
    HOLD_WAITED="Sie warten seit {waited}. Wir rufen {engineers} an.",
    HOLD_TICKET="Ihre Ticketnummer ist {ticket}.",
    HOLD_OFFER_MESSAGE="Drücken Sie 1 für eine Nachricht und einen Rückruf.",
    STILL_TRYING="Wir versuchen weiter, die Techniker zu erreichen.",
    ONE_ENGINEER="einen Techniker",
    ENGINEERS="{count} Techniker",
    SECONDS="{count} Sekunden",
    ONE_MINUTE="einer Minute",
    MINUTES="{count} Minuten",
    TRANSFER_ACCOUNT_MANAGEMENT="Wir verbinden Sie mit der Kundenbetreuung.",
    NOT_ENTITLED="Wir können keinen Supportfall eröffnen: {reason}.",
    TICKET_AND_SMS=(
        "Ihre Ticketnummer ist {ticket}. Wir schicken sie Ihnen per SMS. Auf Wiederhören."
    ),
    TICKET_ONLY="Ihre Ticketnummer ist {ticket}. Auf Wiederhören.",
    THANK_YOU="Vielen Dank.",
    NO_MESSAGE_HEARD="Wir haben keine Nachricht gehört.",
    THANKS_GOODBYE="Vielen Dank für Ihren Anruf. Auf Wiederhören.",
    ASK_REGISTERED_NUMBER=(
        "Geben Sie die registrierte Telefonnummer Ihrer Firma mit Ländervorwahl ein, "
        "dann die Raute."
    ),
    NUMBER_NOT_REGISTERED="Diese Nummer ist bei uns nicht registriert.",
    CODE_SENT=(
        "Wir haben einen Einmalcode an das registrierte Telefon mit der Endung {last4} "
        "geschickt. Geben Sie ihn ein, sobald er ankommt."
    ),
    NO_INPUT_CODE="Ich habe keinen Code gehört.",
    ENTER_CODE="Geben Sie den Code aus der SMS ein.",
    WRONG_CODE="Dieser Code wurde nicht erkannt.",
    NO_REGISTERED_CONTACT=(
        "Wir erreichen keinen registrierten Kontakt Ihrer Firma, um Sie zu prüfen."
    ),
    LEAVE_DETAILS=(
        "Bitte nennen Sie nach dem Ton Ihren Namen, Ihre Firma und Ihre Telefonnummer "
        "und drücken Sie dann eine Taste."
    ),
    CODE_LIMIT="Wir haben für diese Firma schon mehrere Codes geschickt.",
    PIN_UNKNOWN="Diese PIN wurde nicht erkannt.",
    PIN_EXPIRED="Diese PIN ist abgelaufen.",
    PIN_USED="Diese Einmal-PIN wurde schon verwendet.",
    PIN_TRIES_USED="Sie haben alle {tries} Versuche für diesen Anruf verbraucht.",
    LOCKED_WITHHELD=(
        "Es gab zu viele falsche PINs von Anrufern mit unterdrückter Nummer. "
        "Bitte rufen Sie mit sichtbarer Nummer an oder versuchen Sie es in {wait} erneut."
    ),
    LOCKED_ACCOUNT=(
        "Es gab zu viele falsche PINs von den registrierten Nummern Ihrer Firma. "
        "Bitte versuchen Sie es in {wait} erneut."
    ),
    LOCKED_NUMBER=(
        "Es gab zu viele falsche PINs von dieser Nummer. Bitte versuchen Sie es in {wait} erneut."
    ),
    DEGRADED_ASK_SEVERITY=(
        "Technische Störung: wir können Ihre Support-PIN nicht prüfen. "
        "Dienst ausgefallen? Drücken Sie 1 für einen Techniker, 2 für eine Nachricht."
    ),
    DEGRADED_CONNECTING=(
        "Wir haben technische Probleme, daher hat Ihr Anruf noch keine Ticketnummer. "
        "Wir verbinden Sie mit dem Bereitschaftstechniker."
    ),
    DEGRADED_NOBODY=(
        "Wir haben technische Probleme und konnten keinen Bereitschaftstechniker erreichen. "
        "Bitte nennen Sie nach dem Ton Ihren Namen, Ihre Firma und das Problem. "
        "Wir rufen Sie zurück."
    ),
    FALLBACK_CONNECTING=(
        "Wir haben technische Probleme. Wir verbinden Sie mit dem Bereitschaftstechniker."
    ),
    FALLBACK_MESSAGE=(
        "Wir haben technische Probleme. Bitte nennen Sie nach dem Ton Ihren Namen, Ihre Firma "
        "und das Problem. Wir rufen Sie zurück."
    ),
    FALLBACK_THANKS="Vielen Dank. Ihre Nachricht wurde aufgezeichnet. Auf Wiederhören.",
)

# Catalogues by primary language subtag; a number's tag (en-GB, de-AT) picks one and is kept
# as the voice's language.
CATALOGUES: dict[str, Prompts] = {"en": ENGLISH, "de": GERMAN}


def supported(tag: str) -> bool:
    """True when a catalogue speaks this language tag (e.g. 'en-GB', 'de-DE')."""
    return tag.split("-")[0].lower() in CATALOGUES


def catalogue(tag: str | None) -> Prompts:
    """The prompts for a language tag, spoken with that tag; English for None or unknown."""
    if not tag or not supported(tag):
        return ENGLISH
    found = CATALOGUES[tag.split("-")[0].lower()]
    return found if found.language == tag else dataclasses.replace(found, language=tag)


def pin_refusal(check: PinCheck, p: Prompts, now: datetime, tries_per_call: int) -> str | None:
    """What a refused PIN check tells the caller, in the catalogue's language."""
    first = {
        PinOutcome.UNKNOWN: p.PIN_UNKNOWN,
        PinOutcome.EXPIRED: p.PIN_EXPIRED,
        PinOutcome.USED: p.PIN_USED,
    }.get(check.outcome)
    parts = [first] if first else []
    if check.refused_by is Limit.CALL:
        parts.append(p.PIN_TRIES_USED.format(tries=tries_per_call))
    elif check.refused_by is not None:
        # Whole minutes, rounded up, as entitlement.spoken.spoken_wait says them.
        seconds = int(((check.locked_until or now) - now).total_seconds())
        minutes = max(1, -(-seconds // 60))
        wait = p.ONE_MINUTE if minutes == 1 else p.MINUTES.format(count=minutes)
        sentence = {
            Limit.WITHHELD: p.LOCKED_WITHHELD,
            Limit.ACCOUNT: p.LOCKED_ACCOUNT,
        }.get(check.refused_by, p.LOCKED_NUMBER)
        parts.append(sentence.format(wait=wait))
    return " ".join(parts) or check.message
