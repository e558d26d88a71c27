"""The terminal phone, over real HTTP, and the hard limits."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from sim_toy_ivr import ALICE, BOB, HOTLINE, PIN, PUBLIC, SID, TOKEN, make_app, scripted_app
from werkzeug.serving import make_server

from simulator import Caller, Engineer, RestServer, Simulator, terminal


@pytest.fixture
def served() -> Iterator[tuple[str, RestServer]]:
    """The toy IVR on a real HTTP port, its REST calls going to a simulator on a fixed port."""
    probe = make_server("127.0.0.1", 0, lambda e, s: [])
    port = probe.server_port
    probe.server_close()
    app = make_app(f"http://127.0.0.1:{port}", [ALICE, BOB])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", port  # type: ignore[misc]
    server.shutdown()
    server.server_close()
    thread.join()


def test_terminal_phone_with_keys_up_front_over_http(served: tuple[str, int]) -> None:
    base_url, rest_port = served
    out = io.StringIO()
    code = terminal.run(
        base_url, PUBLIC, TOKEN, SID, "+15557654321", HOTLINE,
        keys=f"{PIN},1",
        engineers={ALICE: Engineer.accepts(after=4), BOB: Engineer.no_answer()},
        out=out, rest_port=rest_port,
    )  # fmt: skip
    text = out.getvalue()
    assert code == 0, text
    assert "you hear: Welcome to the severity one hotline." in text
    assert f"connected with {ALICE}" in text
    assert "engineer connected: " in text and "never" not in text.split("engineer connected")[1]


def test_terminal_phone_reads_keys_typed_by_the_user(served: tuple[str, int]) -> None:
    base_url, rest_port = served
    out = io.StringIO()
    code = terminal.run(
        base_url, PUBLIC, TOKEN, SID, "+15557654321", HOTLINE,
        engineers="interactive",
        out=out, inp=io.StringIO(f"{PIN}\n1\na\nb\n1\n"), rest_port=rest_port,
    )  # fmt: skip
    text = out.getvalue()
    assert code == 0, text
    assert "keys for gather 2" in text
    assert f"{ALICE} hear: Connecting you to the customer." in text
    assert f"{BOB} rings" in text and f"{BOB} answers" not in text


def test_failed_call_exits_non_zero() -> None:
    out = io.StringIO()
    app = scripted_app({"/ivr/voice": "<Response><Bogus/></Response>"})
    code = terminal.run(app, PUBLIC, TOKEN, SID, "+15557654321", HOTLINE, keys="", out=out)
    assert code == 1
    assert "12200" in out.getvalue()


def test_a_call_that_never_ends_is_cut_at_the_virtual_limit() -> None:
    pages = {"/ivr/voice": "<Response><Dial><Conference>alone</Conference></Dial></Response>"}
    with Simulator(PUBLIC, TOKEN, SID, max_virtual=600, grace=0) as sim:
        sim.attach(scripted_app(pages))
        call = sim.call(Caller(talk=10_000))
    assert any("virtual time limit" in e.message for e in call.errors)
    assert call.hangup == 600
