"""Fixtures for the simulator's tests: a simulator with its REST server running."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Under pytest's default import mode tests/ lands on sys.path, and tests/simulator would then
# shadow the real package as a namespace package: put the project root first, drop the shadow.
_HERE = Path(__file__).resolve().parent
for _path in (str(_HERE), str(_HERE.parents[1])):
    if _path not in sys.path:
        sys.path.insert(0, _path)
if not hasattr(sys.modules.get("simulator"), "Simulator"):
    sys.modules.pop("simulator", None)

from sim_toy_ivr import ALICE, BOB, HOTLINE, PUBLIC, SID, TOKEN  # noqa: E402

from simulator import Engineer, Simulator  # noqa: E402


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator with the toy engineers; attach the toy app with sim_toy_ivr.attach()."""
    with Simulator(
        PUBLIC,
        TOKEN,
        SID,
        hotline_number=HOTLINE,
        engineers={ALICE: Engineer.accepts(after=4), BOB: Engineer.no_answer()},
        grace=0.02,
        max_wall=20,
    ) as s:
        yield s
