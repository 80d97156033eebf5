"""Pipelines whose truth under faults is known by construction (tests/chaos).

:class:`Stateless`: episode ``i``'s output is a function of ``(seed, i)`` only, so any
difference from the control is a fault's doing. Stage ``A`` is an ``async`` ``@ctool.stage``
(it can await a fault), stage ``B`` a ``with ctool.span`` block, and its value crosses the
fault point ``B.value``. The pipeline records, on its own side of the hand-off, every
episode whose value came out of the point changed (``changed``): the truth the accounting is
checked against. With ``flag`` it flags an output it can see is bad (NaN or missing); with
``files`` it opens a file in stage B (so a descriptor limit fails it).
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any

import ctool

BUILT: list[Stateless] = []
"""Every pipeline built in this process, in order (control first, then the experiment)."""


def _work(seed: int, index: int, rounds: int) -> bytes:
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


class Stateless:
    def __init__(self, seed: int, rounds: int, flag: bool, files: bool) -> None:
        self.seed = seed
        self.rounds = rounds
        self.flag = flag
        self.files = files
        self.changed: set[int] = set()

    @ctool.stage("A")
    async def stage_a(self, index: int) -> bytes:
        return _work(self.seed, index, self.rounds)

    async def episode(self, index: int) -> dict[str, Any]:
        digest = await self.stage_a(index)
        with ctool.span("B"):
            value = int.from_bytes(digest[:4], "big") / 2**32 + 0.001
            if self.files:
                with open(os.devnull, "rb"):
                    pass
        out = ctool.fault_point("B.value", value)
        if out is None or out != value:  # NaN != NaN: changed too
            self.changed.add(index)
        bad = out is None or (isinstance(out, float) and math.isnan(out))
        return {"value": out, "flagged": self.flag and bad}

    def outputs(self, result: dict[str, Any]) -> dict[str, Any]:
        return result


def create(seed: int = 0, rounds: int = 100, flag: bool = False, files: bool = False) -> Stateless:
    pipeline = Stateless(seed, rounds, flag, files)
    BUILT.append(pipeline)
    return pipeline


class Flaky:
    """Fails every third episode with no fault at all: not steady."""

    def episode(self, index: int) -> int:
        if index % 3 == 0:
            raise ValueError("flaky")
        return index


def flaky() -> Flaky:
    return Flaky()
