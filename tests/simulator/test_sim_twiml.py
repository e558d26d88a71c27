"""TwiML validation follows Twilio's rules on verbs, attributes and nesting."""

from __future__ import annotations

import pytest

from simulator import twiml


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("<Response><Say>hi</Response>", twiml.PARSE_ERROR),
        ("<Reply><Say>hi</Say></Reply>", twiml.SCHEMA_ERROR),
        ("<Response><Shout>hi</Shout></Response>", twiml.SCHEMA_ERROR),
        ("<Response><Gather><Dial>+1555</Dial></Gather></Response>", twiml.SCHEMA_ERROR),
        ('<Response><Gather numDigits="x"/></Response>', twiml.SCHEMA_ERROR),
        ("<Response><Dial><Say>hi</Say></Dial></Response>", twiml.SCHEMA_ERROR),
        ("<Response><Hangup>now</Hangup></Response>", twiml.SCHEMA_ERROR),
    ],
)
def test_documents_twilio_refuses(body: str, code: int) -> None:
    with pytest.raises(twiml.TwimlError) as exc:
        twiml.parse(body, "text/xml")
    assert exc.value.code == code


def test_whisper_may_not_dial() -> None:
    body = "<Response><Dial>+15550001</Dial></Response>"
    assert twiml.parse(body, "text/xml")[0].tag == "Dial"
    with pytest.raises(twiml.TwimlError, match="whisper"):
        twiml.parse(body, "text/xml", "whisper")


def test_content_type_must_be_xml_or_text() -> None:
    with pytest.raises(twiml.TwimlError) as exc:
        twiml.parse("<Response/>", "application/json")
    assert exc.value.code == twiml.BAD_CONTENT_TYPE


def test_plain_text_that_is_not_twiml_is_read_aloud() -> None:
    verbs = twiml.parse("Hello there", "text/plain")
    assert [(v.tag, v.text) for v in verbs] == [("Say", "Hello there")]


def test_gather_with_nested_prompts_parses() -> None:
    body = (
        '<Response><Gather numDigits="1" actionOnEmptyResult="true"><Say>Press 1</Say>'
        '<Pause length="2"/></Gather></Response>'
    )
    gather = twiml.parse(body, "text/xml; charset=utf-8")[0]
    assert [c.tag for c in gather.children] == ["Say", "Pause"]
    assert gather.flag("actionOnEmptyResult")
