"""Pipelines whose drift and load behaviour is known by construction (real work, no sleep).

* ``create_drifting(slowdown=..., after=..., noise=..., steady=...)``: each episode hashes
  ``work`` blocks; from episode ``after`` on, ``slowdown`` times as many (``steady``: the
  work grows linearly from the first episode to the last instead). ``noise`` draws each
  episode's amount from a seeded log-normal with that sigma.
* ``create_cliff(work=...)``: an asyncio lock around the work, held for longer the more
  episodes wait on it (``work`` blocks per waiter): throughput falls as load grows.
* ``create_flat(work=...)``: a fixed amount of CPU work per episode, no awaits: throughput
  flat, latency proportional to load.
"""

from __future__ import annotations

import asyncio
import hashlib
import random

import ctool

BLOCK = b"x" * 4096


def _hash(blocks: int) -> str:
    digest = hashlib.sha256()
    for _ in range(max(1, blocks)):
        digest.update(BLOCK)
    return digest.hexdigest()


class Drifting:
    def __init__(
        self, seed: int, work: int, slowdown: float, after: int, noise: float, steady: int
    ) -> None:
        self.random = random.Random(seed)
        self.work, self.slowdown, self.after = work, slowdown, after
        self.noise, self.steady = noise, steady

    def episode(self, index: int) -> str:
        if self.steady:
            factor = 1.0 + (self.slowdown - 1.0) * min(index, self.steady) / self.steady
        else:
            factor = self.slowdown if index >= self.after else 1.0
        jitter = self.random.lognormvariate(0.0, self.noise) if self.noise else 1.0
        with ctool.span("work"):
            return _hash(round(self.work * factor * jitter))


def create_drifting(
    seed: int = 0,
    work: int = 60,
    slowdown: float = 1.4,
    after: int = 10**9,
    noise: float = 0.0,
    steady: int = 0,
) -> Drifting:
    return Drifting(seed, work, slowdown, after, noise, steady)


class Cliff:
    def __init__(self, work: int) -> None:
        self.work = work
        self.lock: asyncio.Lock | None = None
        self.waiting = 0

    async def episode(self, index: int) -> str:
        if self.lock is None:
            self.lock = asyncio.Lock()
        self.waiting += 1
        try:
            async with self.lock:
                # Held longer the more episodes queue behind it: contention that feeds itself.
                with ctool.span("critical"):
                    result = _hash(self.work * self.waiting)
                await asyncio.sleep(0)
                return result
        finally:
            self.waiting -= 1


def create_cliff(seed: int = 0, work: int = 8) -> Cliff:
    return Cliff(work)


class Flat:
    def __init__(self, work: int) -> None:
        self.work = work

    async def episode(self, index: int) -> str:
        with ctool.span("work"):
            return _hash(self.work)


def create_flat(seed: int = 0, work: int = 30) -> Flat:
    return Flat(work)
