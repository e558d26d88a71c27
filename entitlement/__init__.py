"""Entitlement to support: licences, the entitlement rule, support PINs and their checks."""

from entitlement.alerts import MANAGERS, PIN_FAILURE_BURST, PRIVILEGED_PIN_USED
from entitlement.check import Entitlement, check_entitlement
from entitlement.licences import LicenceError, issue_licence, list_licences
from entitlement.pins import (
    IssuedPin,
    PinError,
    PinSummary,
    clear_pins,
    clear_standing_pin,
    hash_pin,
    issue_pin,
    list_pins,
    renew_standing_pin,
)
from entitlement.policy import PinPolicy
from entitlement.spoken import spoken_date
from entitlement.verify import PinCheck, caller_key, grant_elevated_access, verify_pin

__all__ = [
    "MANAGERS",
    "PIN_FAILURE_BURST",
    "PRIVILEGED_PIN_USED",
    "Entitlement",
    "IssuedPin",
    "LicenceError",
    "PinCheck",
    "PinError",
    "PinPolicy",
    "PinSummary",
    "caller_key",
    "check_entitlement",
    "clear_pins",
    "clear_standing_pin",
    "grant_elevated_access",
    "hash_pin",
    "issue_licence",
    "issue_pin",
    "list_licences",
    "list_pins",
    "renew_standing_pin",
    "spoken_date",
    "verify_pin",
]
