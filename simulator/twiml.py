"""Parse TwiML and reject what Twilio would reject (verbs, attributes, nesting)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# Error codes Twilio reports for documents it cannot use.
HTTP_RETRIEVAL_FAILURE = 11200
TIMEOUT = 11205
PARSE_ERROR = 12100
SCHEMA_ERROR = 12200
BAD_CONTENT_TYPE = 12300

_STATUS_CB = {"statusCallback", "statusCallbackEvent", "statusCallbackMethod"}
_AMD = {
    "machineDetection",
    "machineDetectionTimeout",
    "machineDetectionSpeechThreshold",
    "machineDetectionSpeechEndThreshold",
    "machineDetectionSilenceTimeout",
    "amdStatusCallback",
    "amdStatusCallbackMethod",
}
_REC_CB = {
    "recordingStatusCallback",
    "recordingStatusCallbackMethod",
    "recordingStatusCallbackEvent",
}

ATTRIBUTES: dict[str, set[str]] = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "numDigits",
        "input",
        "speechTimeout",
        "maxSpeechTime",
        "profanityFilter",
        "partialResultCallback",
        "partialResultCallbackMethod",
        "language",
        "hints",
        "bargeIn",
        "debug",
        "actionOnEmptyResult",
        "speechModel",
        "enhanced",
    },
    "Redirect": {"method"},
    "Hangup": set(),
    "Reject": {"reason"},
    "Leave": set(),
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "transcribe",
        "transcribeCallback",
        "storageUrl",
        "storageUrlMethod",
        "recordingChannels",
        *_REC_CB,
    },
    "Dial": {
        "action",
        "method",
        "timeout",
        "hangupOnStar",
        "timeLimit",
        "callerId",
        "record",
        "trim",
        "answerOnBridge",
        "ringTone",
        "recordingTrack",
        "sequential",
        "referUrl",
        "referMethod",
        "events",
        "passports",
        *_REC_CB,
    },
    "Number": {"sendDigits", "url", "method", "byoc", *_STATUS_CB, *_AMD},
    "Conference": {
        "muted",
        "beep",
        "startConferenceOnEnter",
        "endConferenceOnExit",
        "waitUrl",
        "waitMethod",
        "maxParticipants",
        "record",
        "region",
        "coach",
        "trim",
        "eventCallbackUrl",
        "jitterBufferSize",
        "participantLabel",
        "callSidToCoach",
        "beepOnCustomerEntrance",
        *_STATUS_CB,
        *_REC_CB,
    },
    "Queue": {"url", "method", "reservationSid", "postWorkActivitySid"},
    "Client": {"url", "method", *_STATUS_CB},
    "Sip": {"username", "password", "url", "method", *_STATUS_CB, *_AMD},
    "Enqueue": {"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"},
}

VOICE_VERBS = {
    "Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Record", "Dial",
    "Enqueue", "Leave", "Connect", "Start", "Stop", "Pay", "Refer", "Echo", "Sms",
}  # fmt: skip
CHILDREN: dict[str, set[str]] = {
    "Gather": {"Say", "Play", "Pause"},
    "Dial": {"Number", "Conference", "Queue", "Client", "Sip", "Application", "WhatsApp"},
    "Enqueue": {"Task"},
    "Client": {"Identity", "Parameter"},
}
SSML = {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
TEXT_ALLOWED = {"Say", "Play", "Redirect", "Dial", "Number", "Conference", "Queue", "Client",
                "Sip", "Enqueue", "Task", "Identity"}  # fmt: skip

# Which verbs each kind of document may use.
CONTEXTS: dict[str, set[str]] = {
    "call": VOICE_VERBS - {"Leave"},
    "whisper": {"Say", "Play", "Pause", "Gather", "Hangup", "Redirect"},
    "conference_wait": {"Say", "Play", "Pause", "Redirect"},
    "enqueue_wait": {"Say", "Play", "Pause", "Hangup", "Redirect", "Leave", "Gather"},
    "queue_announce": {"Say", "Play", "Pause"},
}
_BOOLEANS = {"actionOnEmptyResult", "playBeep", "transcribe", "hangupOnStar", "answerOnBridge",
             "startConferenceOnEnter", "endConferenceOnExit", "beep", "muted"}  # fmt: skip
_INTEGERS = {"numDigits", "timeout", "maxLength", "timeLimit", "length", "loop",
             "maxParticipants"}  # fmt: skip


class TwimlError(Exception):
    """A document Twilio would refuse, with its error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Node:
    """One TwiML element."""

    tag: str
    attrs: dict[str, str]
    text: str
    children: list[Node] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.attrs.get(name)
        return default if value is None else value.lower() == "true"

    def number(self, name: str, default: float) -> float:
        value = self.attrs.get(name)
        return default if value in (None, "") else float(value)


def parse(body: str, content_type: str, context: str = "call") -> list[Node]:
    """Return the verbs of a TwiML response, or raise TwimlError as Twilio would."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime not in {"text/xml", "application/xml", "text/html", "text/plain"}:
        raise TwimlError(BAD_CONTENT_TYPE, f"Invalid content type {content_type!r}")
    try:
        root = ET.fromstring(body.strip())  # noqa: S314 - see the import
    except ET.ParseError as exc:
        if mime == "text/plain":
            # Twilio reads plain text that is not TwiML aloud.
            return [Node("Say", {}, body.strip())]
        raise TwimlError(PARSE_ERROR, f"Document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(SCHEMA_ERROR, f"Root element must be <Response>, not <{root.tag}>")
    if root.attrib:
        raise TwimlError(SCHEMA_ERROR, "<Response> takes no attributes")
    if (root.text or "").strip():
        raise TwimlError(SCHEMA_ERROR, "Text is not allowed directly inside <Response>")
    allowed = CONTEXTS[context]
    verbs = []
    for el in root:
        if el.tag not in VOICE_VERBS:
            raise TwimlError(SCHEMA_ERROR, f"<{el.tag}> is not a TwiML voice verb")
        if el.tag not in allowed:
            raise TwimlError(SCHEMA_ERROR, f"<{el.tag}> is not allowed in a {context} document")
        verbs.append(_node(el))
        if (el.tail or "").strip():
            raise TwimlError(SCHEMA_ERROR, "Text is not allowed directly inside <Response>")
    return verbs


def _node(el: ET.Element) -> Node:
    tag = el.tag
    if tag in ATTRIBUTES:
        for name, value in el.attrib.items():
            if name not in ATTRIBUTES[tag]:
                raise TwimlError(SCHEMA_ERROR, f"<{tag}> has no attribute {name!r}")
            _check_value(tag, name, value)
    if tag == "Say":
        return Node(tag, dict(el.attrib), _say_text(el))
    text = (el.text or "").strip()
    if text and tag not in TEXT_ALLOWED:
        raise TwimlError(SCHEMA_ERROR, f"<{tag}> may not contain text")
    node = Node(tag, dict(el.attrib), text)
    allowed = CHILDREN.get(tag, set())
    for child in el:
        if child.tag not in allowed:
            raise TwimlError(SCHEMA_ERROR, f"<{child.tag}> may not be nested in <{tag}>")
        node.children.append(_node(child))
    if tag == "Redirect" and not text:
        raise TwimlError(SCHEMA_ERROR, "<Redirect> needs a URL")
    if tag in {"Conference", "Queue", "Enqueue"} and not text:
        raise TwimlError(SCHEMA_ERROR, f"<{tag}> needs a name")
    return node


def _say_text(el: ET.Element) -> str:
    for child in el.iter():
        local = child.tag.split("}", 1)[-1]
        if child is not el and local not in SSML and not local.startswith("amazon:"):
            raise TwimlError(SCHEMA_ERROR, f"<{child.tag}> may not be nested in <Say>")
    return " ".join("".join(el.itertext()).split())


def _check_value(tag: str, name: str, value: str) -> None:
    if name.endswith("ethod") and value.upper() not in {"GET", "POST"}:
        raise TwimlError(SCHEMA_ERROR, f"<{tag} {name}> must be GET or POST, not {value!r}")
    if name in _BOOLEANS and value.lower() not in {"true", "false"}:
        raise TwimlError(SCHEMA_ERROR, f"<{tag} {name}> must be true or false, not {value!r}")
    if name in _INTEGERS and not value.strip().isdigit():
        raise TwimlError(SCHEMA_ERROR, f"<{tag} {name}> must be an integer, not {value!r}")
