"""Pipelines that stall the event loop by construction, each keeping its own truth.

Importable as ``stall_pipelines`` (tests/helpers is on sys.path). ``BUILT`` holds every
pipeline built in this process, so an in-process test can compare ctool's figures with what
the pipeline measured of itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
from time import perf_counter_ns
from typing import Any

import ctool

BUILT: list[Any] = []


class Sleeper:
    """Blocks the loop once per episode with ``time.sleep``, inside the ``store`` span.

    ``steps`` holds, per episode, the (start, end) ``time.monotonic_ns`` of the loop step
    that sleeps, as seen from inside it: from the moment the task resumed to the moment it
    is about to yield. ctool's stall for that step must contain it.
    """

    def __init__(self, sleep_ms: float, work: int) -> None:
        self.sleep_s = sleep_ms / 1000
        self.work = work
        self.steps: list[tuple[int, int]] = []
        self.sleeps: list[int] = []

    async def episode(self, index: int) -> int:
        with ctool.span("prepare"):
            value = sum(i * i for i in range(self.work)) + index
        await asyncio.sleep(0)
        begun = time.monotonic_ns()
        with ctool.span("store"):
            self._store()
        self.steps.append((begun, time.monotonic_ns()))
        await asyncio.sleep(0)
        return value

    def _store(self) -> None:
        started = perf_counter_ns()
        time.sleep(self.sleep_s)  # the stall: the loop thread sleeps
        self.sleeps.append(perf_counter_ns() - started)

    def outputs(self, result: int) -> dict[str, Any]:
        return {"value": result}


def create_sleeper(sleep_ms: float = 3.0, work: int = 200) -> Sleeper:
    pipeline = Sleeper(sleep_ms, work)
    BUILT.append(pipeline)
    return pipeline


def spin(stop: threading.Event, seconds: float) -> int:
    """Pure Python until ``stop`` is set (at most ``seconds``): holds the GIL but for the
    interpreter's switches."""
    end = time.perf_counter() + seconds
    count = 0
    while not stop.is_set() and time.perf_counter() < end:
        for i in range(200):
            count += i
    return count


def compute(loops: int) -> int:
    """The loop's own pure-Python computation."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


class Contended:
    """The loop computes while two executor threads spin in pure Python: the loop thread
    spends most of its stall waiting for the GIL the executor threads hold (two, so that
    one of them runs even when other processes take a CPU)."""

    def __init__(self, loops: int, spin_s: float) -> None:
        self.loops = loops
        self.spin_s = spin_s

    async def episode(self, index: int) -> int:
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        spinning = [loop.run_in_executor(None, spin, stop, self.spin_s) for _ in range(2)]
        await asyncio.sleep(0.002)  # the executor threads are running their loops by now
        with ctool.span("validate"):
            value = compute(self.loops)  # the stall: computing, and waiting for the GIL
        stop.set()
        await asyncio.gather(*spinning)
        return value


def create_contended(loops: int = 300_000, spin_s: float = 2.0) -> Contended:
    return Contended(loops, spin_s)


class Alone:
    """The same computation with no other thread running: a plain ``cpu`` stall."""

    def __init__(self, loops: int) -> None:
        self.loops = loops

    async def episode(self, index: int) -> int:
        with ctool.span("validate"):
            return compute(self.loops)


def create_alone(loops: int = 300_000) -> Alone:
    return Alone(loops)
