"""Small pipelines for the leakcheck tests: one that leaks, one that does not, one whose
cache grows to a bound and stops. Each marks its stages with ``ctool.span``."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from typing import Any

import ctool


class LeakyPipeline:
    """Keeps ``leak_bytes`` bytes per episode alive inside stage "KEEP"; ``via_helper``
    allocates them one call deeper, so only a traceback reaches the span."""

    def __init__(self, leak_bytes: int = 4096, via_helper: bool = False) -> None:
        self.leak_bytes = leak_bytes
        self.via_helper = via_helper
        self.kept: list[bytes] = []
        self.scratch: list[float] = []

    def _keep(self) -> None:
        self.kept.append(bytes(self.leak_bytes))  # HELPER-LEAK-LINE

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            self.scratch = [float(i) * 0.5 for i in range(200)]
            total = sum(self.scratch)
        await asyncio.sleep(0)
        with ctool.span("KEEP"):
            if self.via_helper:
                self._keep()
            else:
                self.kept.append(bytes(self.leak_bytes))  # LEAK-LINE
        return int(total) + index


class CleanPipeline:
    """Allocates plenty per episode and keeps nothing but a fixed-size ring."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.ring: list[dict[str, Any]] = [{} for _ in range(8)]  # full after warm-up

    async def episode(self, index: int) -> float:
        with ctool.span("WORK"):
            values = [((index * 31 + self.seed + i) % 97) / 97 for i in range(60)]
            record = {"index": index, "mean": sum(values) / len(values), "tag": f"e{index}"}
        with ctool.span("STORE"):
            self.ring[index % len(self.ring)] = record
        await asyncio.sleep(0)
        return float(record["mean"])


class BoundedCachePipeline:
    """Caches one entry per episode up to ``bound`` entries, then stops growing."""

    def __init__(self, bound: int = 120) -> None:
        self.bound = bound
        self.cache: dict[int, bytes] = {}

    async def episode(self, index: int) -> int:
        with ctool.span("CACHE"):
            if len(self.cache) < self.bound:
                self.cache[index] = bytes(2048)
            hit = sum(len(v) for v in self.cache.values())
        await asyncio.sleep(0)
        return hit


class FailingPipeline:
    """Raises in every third episode; leaks nothing."""

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            if index % 3 == 0:
                raise ValueError(f"episode {index} failed on purpose")
        return index


class InterruptedPipeline:
    """Leaks like ``LeakyPipeline`` until episode ``stop_at``, where the user hits Ctrl-C."""

    def __init__(self, stop_at: int) -> None:
        self.stop_at = stop_at
        self.kept: list[bytes] = []

    async def episode(self, index: int) -> int:
        if index == self.stop_at:
            raise KeyboardInterrupt
        with ctool.span("KEEP"):
            self.kept.append(bytes(4096))
        return index


class SigintPipeline:
    """Sends itself SIGINT at episode ``at``, as a user's Ctrl-C would arrive."""

    def __init__(self, at: int) -> None:
        self.at = at

    async def episode(self, index: int) -> int:
        if index == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        with ctool.span("WORK"):
            total = sum(range(50))
        return total


class NoisyPipeline:
    """Holds one buffer of a random size (0..400 kB, seeded), replaced every episode: no
    growth, but retained memory jumps by hundreds of kB between samples."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.buffer = b""

    async def episode(self, index: int) -> int:
        with ctool.span("NOISE"):
            self.buffer = bytes(self.rng.randrange(400_000))
        return len(self.buffer)


def leaky(seed: int = 0, leak_bytes: int = 4096, via_helper: bool = False) -> LeakyPipeline:
    return LeakyPipeline(leak_bytes=leak_bytes, via_helper=via_helper)


def clean(seed: int = 0) -> CleanPipeline:
    return CleanPipeline(seed=seed)


def bounded(seed: int = 0, bound: int = 120) -> BoundedCachePipeline:
    return BoundedCachePipeline(bound=bound)


def failing(seed: int = 0) -> FailingPipeline:
    return FailingPipeline()


def interrupted(seed: int = 0, stop_at: int = 110) -> InterruptedPipeline:
    return InterruptedPipeline(stop_at=stop_at)


def sigint(seed: int = 0, at: int = 130) -> SigintPipeline:
    return SigintPipeline(at=at)


def noisy(seed: int = 0) -> NoisyPipeline:
    return NoisyPipeline(seed)
