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


# --- the sequential leakcheck's table (issue: slow leaks, bounded growth, native memory) ---
# Each takes a seed that sets its jitter and its background churn: allocations that come and
# go (a buffer of random size held from one episode to the next, temporaries of random size).


class _Churn:
    """Seeded jitter: a held buffer of 0..``held`` bytes replaced every episode, and a few
    temporaries of random size that die with the episode."""

    def __init__(self, seed: int, held: int = 8192) -> None:
        self.rng = random.Random(seed)
        self.held_max = held
        self.held = b""

    def churn(self) -> int:
        rng = self.rng
        self.held = bytes(rng.randrange(self.held_max))
        temporaries = [bytes(rng.randrange(2048)) for _ in range(rng.randrange(1, 6))]
        return sum(map(len, temporaries))


class SlowLeakPipeline(_Churn):
    """~32 B/episode kept (a float and its list slot), under jitter and churn."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.kept: list[float] = []

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            made = self.churn()
        with ctool.span("KEEP"):
            self.kept.append(index * 1.5)  # SLOW-LEAK-LINE
        return made


SEEN: dict[int, None] = {}
"""Module level, as in the report that prompted the sequential check."""


class StepwiseDictPipeline(_Churn):
    """One int key per episode into a module-level dict: ~64 B/episode that grows in steps
    (the dict's table is resized now and then; between resizes only the ints are new)."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, held=2048)
        SEEN.clear()

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            made = self.churn()
        with ctool.span("SEEN"):
            SEEN[100_000 + index] = None  # DICT-LEAK-LINE
        return made


class KilobyteLeakPipeline(_Churn):
    """~1 KB per episode kept, under churn."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.kept: list[bytes] = []

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            made = self.churn()
        with ctool.span("KEEP"):
            self.kept.append(bytes(1000))  # KB-LEAK-LINE
        return made


class LruCachePipeline(_Churn):
    """``functools.lru_cache(maxsize=5000)`` given one new argument per episode: it looks
    like a leak for 5,000 episodes, then evicts as fast as it adds."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, held=2048)
        import functools

        self.lookup = functools.lru_cache(maxsize=5000)(self._compute)

    @staticmethod
    def _compute(key: int) -> tuple[int, int]:
        return (key, key * key)

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            made = self.churn()
        with ctool.span("CACHE"):
            return made + self.lookup(1_000_000 + index)[0]


class RingBufferPipeline(_Churn):
    """A ``collections.deque(maxlen=2000)`` of records that fills, then replaces."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed, held=2048)
        import collections

        self.ring: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=2000)

    async def episode(self, index: int) -> int:
        with ctool.span("WORK"):
            made = self.churn()
        with ctool.span("RING"):
            self.ring.append((index, bytes(64)))
        return made


class NativeLeakPipeline:
    """4 KB per episode from libc's ``malloc`` (via ctypes), written with ``memset`` so that
    RSS sees it, never freed: invisible to tracemalloc.

    The block comes from ``strndup``, which calls ``malloc`` from inside libc, as C code
    does: ``ctypes.CDLL(...).malloc`` itself is a raw pointer from ``dlsym``, which no
    profiler that hooks ``malloc`` through the PLT (memray) sees."""

    def __init__(self, seed: int) -> None:
        import ctypes
        import ctypes.util

        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.libc.strndup.restype = ctypes.c_void_p
        self.libc.strndup.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self.source = b"x" * 4095
        self.memset = ctypes.memset
        self.kept = 0

    async def episode(self, index: int) -> int:
        with ctool.span("NATIVE"):
            pointer = self.libc.strndup(self.source, 4095)  # NATIVE-LEAK-LINE (malloc 4096)
            self.memset(pointer, index % 251, 4096)
            self.kept += 1
        return self.kept


def slow_leak(seed: int = 0) -> SlowLeakPipeline:
    return SlowLeakPipeline(seed)


def stepwise_dict(seed: int = 0) -> StepwiseDictPipeline:
    return StepwiseDictPipeline(seed)


def kilobyte_leak(seed: int = 0) -> KilobyteLeakPipeline:
    return KilobyteLeakPipeline(seed)


def lru(seed: int = 0) -> LruCachePipeline:
    return LruCachePipeline(seed)


def ring(seed: int = 0) -> RingBufferPipeline:
    return RingBufferPipeline(seed)


def native_leak(seed: int = 0) -> NativeLeakPipeline:
    return NativeLeakPipeline(seed)
