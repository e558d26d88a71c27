"""Scripts for the people (and machines) on the line: the caller and the engineers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

# Speech rate of Twilio's <Say> voices as the simulator assumes it.
WORDS_PER_MINUTE = 150
KEY_INTERVAL = 0.25  # seconds between two key presses of a human


def speech_seconds(text: str) -> float:
    """How long saying `text` takes."""
    return len(text.split()) * 60.0 / WORDS_PER_MINUTE


@dataclass
class Prompt:
    """What a party knows when a <Gather> starts."""

    number: int  # 1 for the first Gather of this leg
    prompt: str  # text of the nested Say/Play
    heard: list[str]  # everything heard on this leg so far
    action: str


KeyRule = Callable[[Prompt], str | None]
Keys = Sequence[str | None] | KeyRule


def _next_keys(keys: Keys, prompt: Prompt, used: list[int]) -> str | None:
    if callable(keys):
        return keys(prompt)
    if used[0] < len(keys):
        used[0] += 1
        return keys[used[0] - 1]
    return None


@dataclass
class Caller:
    """A customer: keys per Gather (None = silence), when to press, when to hang up."""

    keys: Keys = ()
    press: Literal["barge", "after"] = "barge"
    hangup_after: float | None = None  # virtual seconds after answer
    hangup_at_gather: int | None = None  # hang up when this Gather (1-based) starts
    hangup_on: str | None = None  # hang up once this phrase has been heard
    talk: float = 20.0  # seconds on the line with an engineer before hanging up
    message: str | None = "My whole cluster is down, please call me back."  # said to <Record>
    kind: str = "caller"
    _used: list[int] = field(default_factory=lambda: [0], repr=False)

    def keys_for(self, prompt: Prompt) -> str | None:
        """The keys to press at this Gather."""
        return _next_keys(self.keys, prompt, self._used)


@dataclass
class Engineer:
    """An engineer's phone: when it answers, what is pressed, how long they stay."""

    answer_after: float | None = 3.0  # None: rings until the timeout
    keys: Keys = ("1",)
    busy: bool = False
    voicemail: bool = False
    talk: float = 30.0
    press: Literal["barge", "after"] = "after"
    message: str | None = None
    kind: str = "engineer"
    _used: list[int] = field(default_factory=lambda: [0], repr=False)

    def keys_for(self, prompt: Prompt) -> str | None:
        """The keys to press at this Gather (a voicemail box never presses anything)."""
        if self.voicemail:
            return None
        return _next_keys(self.keys, prompt, self._used)

    def fresh(self) -> Engineer:
        """A copy with its key script rewound, for another call to the same phone."""
        return Engineer(
            self.answer_after, self.keys, self.busy, self.voicemail, self.talk, self.press,
            self.message, self.kind,
        )  # fmt: skip

    @classmethod
    def accepts(cls, after: float = 3.0, talk: float = 30.0) -> Engineer:
        """Answers after `after` seconds and presses 1."""
        return cls(answer_after=after, keys=("1",), talk=talk)

    @classmethod
    def passes(cls, after: float = 3.0) -> Engineer:
        """Answers and presses 2."""
        return cls(answer_after=after, keys=("2",))

    @classmethod
    def no_answer(cls) -> Engineer:
        """Rings until the caller's timeout."""
        return cls(answer_after=None)

    @classmethod
    def busy_line(cls) -> Engineer:
        """Answers busy at once."""
        return cls(busy=True)

    @classmethod
    def voicemail_box(cls, after: float = 0.0, length: float = 60.0) -> Engineer:
        """Answers, stays silent, records whatever it hears, hangs up after `length`."""
        return cls(answer_after=after, keys=(), voicemail=True, talk=length, kind="voicemail")


Party = Caller | Engineer
