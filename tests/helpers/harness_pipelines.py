"""Small pipelines (and a fake profiler) for the harness and ``ctool profile`` tests.

Importable as ``harness_pipelines`` (pytest puts tests/ on sys.path; subprocess tests set
PYTHONPATH). Not a test module.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import ctool
from ctool.model.schema import Hotspot
from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions


def _work(n: int) -> int:
    return sum(i * i for i in range(n))


class Quick:
    """Three stages, one nested, deterministic outputs; knobs for failures and stalls."""

    def __init__(
        self,
        seed: int,
        fail_every: int,
        fail_all: bool,
        work: int,
        stall_at: int,
        stall_ms: int,
        block_every: int,
        block_ms: int,
        lock_every: int,
        marker: str,
        die_after: int = 0,
    ) -> None:
        self.seed = seed
        self.fail_every = fail_every
        self.fail_all = fail_all
        self.work = work
        self.stall_at = stall_at
        self.stall_ms = stall_ms
        self.block_every = block_every
        self.block_ms = block_ms
        self.lock_every = lock_every
        self.marker = marker
        self.die_after = die_after
        self.calls = 0
        self.closed = False

    async def episode(self, index: int) -> int:
        self.calls += 1
        if self.die_after and self.calls > self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)  # a replica killed mid-run (fault tests)
        if self.marker:
            Path(self.marker).touch()
        with ctool.span("parse"):
            value = _work(self.work) + self.seed
        await asyncio.sleep(0)
        with ctool.span("score"):
            value += _work(self.work)
            with ctool.span("score.inner"):
                value += _work(self.work // 2)
        with ctool.span("emit"):
            if self.fail_all or (self.fail_every and index % self.fail_every == 0):
                raise ValueError(f"bad episode {index}")
            if index == self.stall_at:
                self._stall(self.stall_ms)
            if self.block_every and index % self.block_every == 0:
                self._blocking_probe()
            if self.lock_every and index % self.lock_every == 0:
                self._wait_for_lock()
        return value + index

    def _stall(self, ms: int) -> None:
        time.sleep(ms / 1000)  # an honest blocking call: the open-loop tail must show it

    def _blocking_probe(self) -> None:
        time.sleep(self.block_ms / 1000)  # a synchronous wait on the loop: the watchdog's prey

    def _wait_for_lock(self) -> None:
        lock = threading.Lock()
        lock.acquire()
        threading.Timer(self.block_ms / 1000, lock.release).start()
        lock.acquire()  # the loop thread waits on a lock another thread holds: blocking

    def outputs(self, result: int) -> dict[str, Any]:
        return {"value": result, "parity": result % 2 == 0}

    def metrics(self) -> dict[str, Any]:
        return {"episodes": {"count": self.calls, "hit_rate": 0.5, "bytes": 2048}}

    def close(self) -> None:
        self.closed = True


def create(
    seed: int = 0,
    fail_every: int = 0,
    fail_all: bool = False,
    work: int = 300,
    stall_at: int = -1,
    stall_ms: int = 0,
    block_every: int = 0,
    block_ms: int = 0,
    lock_every: int = 0,
    marker: str = "",
    die_after: int = 0,
) -> Quick:
    return Quick(
        seed,
        fail_every,
        fail_all,
        work,
        stall_at,
        stall_ms,
        block_every,
        block_ms,
        lock_every,
        marker,
        die_after,
    )


class SyncPipeline:
    def __init__(self) -> None:
        self.n = 0

    def episode(self, index: int) -> int:
        with ctool.span("only"):
            self.n += _work(100)
        return index


def create_sync() -> SyncPipeline:
    return SyncPipeline()


def create_no_episode() -> object:
    return object()


def create_failing_factory() -> object:
    raise RuntimeError("the factory exploded")


class FakeProfiler:
    """A profiler backend that records its lifecycle and returns one hotspot."""

    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "test double"
    starts: ClassVar[int] = 0
    stops: ClassVar[int] = 0
    available: ClassVar[bool] = True

    def availability(self) -> Availability:
        return Availability(FakeProfiler.available, "" if FakeProfiler.available else "not here")

    def start(self, options: ProfilerOptions) -> None:
        FakeProfiler.starts += 1
        self._dir = options.output_dir

    def stop(self) -> ProfilerFragment:
        FakeProfiler.stops += 1
        artifact = Path(self._dir) / "fake.txt"
        artifact.write_text("profile")
        hotspot = Hotspot(
            profiler="fake",
            function="hot_function",
            file="hot.py",
            line=3,
            calls=7,
            self_ms=1.5,
            cumulative_ms=2.5,
            share=0.4,
        )
        return ProfilerFragment("fake", [hotspot], {"fake": str(artifact)}, {"rows": 1})
