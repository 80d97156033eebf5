"""A tiny two-stage async pipeline for profiler tests: one CPU-bound stage, one that allocates.

Deterministic and fast (about 1-2 ms an episode); ``spin`` dominates time, ``hoard`` holds
memory while it runs and keeps a little (``keep``) per episode so retained bytes are non-zero.
"""

from __future__ import annotations

import math

import ctool


def spin(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += math.sin(i) * math.cos(i)
    return total


def hoard(n: int, kept: list[bytes]) -> int:
    blocks = [bytes(256) for _ in range(n)]
    kept.append(bytes(64))
    return len(blocks)


class ToyPipeline:
    def __init__(self, work: int = 3000) -> None:
        self.work = work
        self.kept: list[bytes] = []

    async def episode(self, index: int) -> float:
        with ctool.span("TIG"):
            value = spin(self.work)
        with ctool.span("ESGT"):
            hoard(self.work // 10, self.kept)
        return value


def create(seed: int = 0, work: int = 3000) -> ToyPipeline:
    return ToyPipeline(work)
