"""A terminal phone: hear the hotline, type keys, play the engineers, see the timeline."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from simulator.legs import Leg, PartyHangup
from simulator.network import Simulator, parse_keys
from simulator.parties import Caller, Engineer, Prompt
from simulator.report import Utterance, Webhook
from simulator.transport import WsgiApp


class TerminalCaller(Caller):
    """A caller whose keys are typed at each Gather ('h' hangs up, empty line = silence)."""

    def __init__(self, out: TextIO, inp: TextIO) -> None:
        super().__init__(keys=self._ask, press="after")
        self.out, self.inp = out, inp

    def _ask(self, prompt: Prompt) -> str | None:
        self.out.write(f"  keys for gather {prompt.number} (Enter = silence, h = hang up)> ")
        self.out.flush()
        line = self.inp.readline()
        if not line or line.strip().lower() in {"h", "hangup"}:
            raise PartyHangup("completed", "hung up at the keypad")
        return line.strip() or None


class TerminalEngineer(Engineer):
    """An engineer played by the user: answer or not, then type keys."""

    def __init__(self, number: str, out: TextIO, inp: TextIO) -> None:
        super().__init__(answer_after=3.0, keys=self._ask)
        self.number, self.out, self.inp = number, out, inp

    def ring_plan(self, timeout: float) -> tuple[float, str]:
        self.out.write(f"  {self.number} is ringing: answer (a), busy (b), ignore (n)? [a] ")
        self.out.flush()
        choice = self.inp.readline().strip().lower()
        if choice == "b":
            return 1.0, "busy"
        if choice == "n":
            return timeout, "no-answer"
        return 3.0, "answered"

    def _ask(self, prompt: Prompt) -> str | None:
        self.out.write(f"  {self.number} keys (1 accept, 2 pass, Enter = nothing)> ")
        self.out.flush()
        return self.inp.readline().strip() or None

    def fresh(self) -> TerminalEngineer:
        return TerminalEngineer(self.number, self.out, self.inp)


def run(
    base_url: str | WsgiApp,
    public_base_url: str,
    auth_token: str,
    account_sid: str,
    from_number: str,
    to_number: str,
    keys: str | None = None,
    engineers: Mapping[str, Engineer] | str = "auto",
    out: TextIO = sys.stdout,
    inp: TextIO = sys.stdin,
    rest_port: int = 0,
    **options: Any,
) -> int:
    """Place one call and narrate it; returns 0 if the call had no errors, else 1.

    `keys` like '12345678,1' answers the Gathers up front; without it the user types them.
    `engineers` is "auto" (every engineer answers and presses 1), "interactive" (the user
    plays them) or a mapping of phone number to Engineer script.
    """
    sim = Simulator(
        public_base_url, auth_token, account_sid, base_url, rest_port=rest_port, **options
    )
    if engineers == "interactive":
        sim.engineers = _InteractiveEngineers(out, inp)  # type: ignore[assignment]
        sim.default_engineer = TerminalEngineer("engineer", out, inp)
    elif not isinstance(engineers, str):
        sim.engineers = dict(engineers)
    caller: Caller = Caller(keys=parse_keys(keys)) if keys is not None else TerminalCaller(out, inp)
    sim.listeners.append(_Narrator(out))
    with sim:
        out.write(f"Twilio REST stand-in at {sim.rest_url} (set TWILIO_API_BASE_URL to it)\n")
        out.write(f"Calling {to_number} from {from_number}...\n")
        report = sim.call(caller, from_=from_number, to=to_number)
    out.write("\n" + report.timeline() + "\n")
    for err in report.errors:
        out.write(f"error {err.code or '-'}: {err.message} {err.url}\n")
    return 1 if report.failed else 0


class _InteractiveEngineers(dict[str, Engineer]):
    """Every number is played by the user."""

    def __init__(self, out: TextIO, inp: TextIO) -> None:
        super().__init__()
        self.out, self.inp = out, inp

    def get(self, number: str, default: Any = None) -> Engineer:  # type: ignore[override]
        return TerminalEngineer(number, self.out, self.inp)


class _Narrator:
    """Prints what happens as it happens."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: str, leg: Leg, data: Any) -> None:
        who = "you" if leg.party.kind == "caller" else leg.to
        t = f"[{leg.now:7.1f}s]"
        if event == "heard" and isinstance(data, Utterance):
            self.out.write(f"{t} {who} hear: {data.text}\n")
        elif event == "ringing":
            self.out.write(f"{t} {leg.to} rings\n")
        elif event == "answered":
            self.out.write(f"{t} {leg.to} answers\n")
        elif event == "connected":
            self.out.write(f"{t} connected with {data.to}\n")
        elif event == "ended":
            self.out.write(f"{t} {who} hang up ({data})\n" if who == "you" else "")
        elif event == "webhook" and isinstance(data, Webhook) and data.error_code:
            self.out.write(f"{t} webhook {data.url} failed ({data.status})\n")
        self.out.flush()
