"""The harness's own cost per episode, calibrated on this machine and written into every
profile report (``ProfileReport.harness_cost``): the floor under any measured episode.

An empty pipeline -- two spans and an ``outputs`` hook, nothing else -- runs in interleaved
blocks three ways: with no recorder (spans cost two context-variable reads), with a
recorder (spans recorded), and through the harness's own per-episode path
(``LoadDriver.episode``: the recorder, stage aggregation, the output digest, deferred
hashing included). Per-block means, medians over blocks:

* span cost = (recorded - unrecorded) / 2 spans;
* bookkeeping = harness path - recorded.

About 40 ms on the development machine; ``benchmarks/overhead.py`` measures the same with
more blocks and on real pipelines.
"""

from __future__ import annotations

import statistics
from time import perf_counter_ns
from typing import Any

from ctool.model.schema import HarnessCost
from ctool.run.recorder import PartRecorder
from ctool.run.shapes import LoadDriver
from ctool.spans import EpisodeRecorder, activate, deactivate, span
from ctool.workload.digest import OutputDigest
from ctool.workload.loader import PipelineAdapter

SPANS = 2


class EmptyPipeline:
    """Two spans around nothing: what the harness costs when the work costs nothing."""

    async def episode(self, index: int) -> int:
        with span("a"):
            pass
        with span("b"):
            pass
        return index

    def outputs(self, result: int) -> dict[str, Any]:
        return {"i": result}


def create(seed: int = 0) -> EmptyPipeline:
    del seed
    return EmptyPipeline()


async def measure_harness_cost(*, blocks: int = 9, episodes: int = 300) -> HarnessCost:
    """Calibrate span and bookkeeping cost (see the module docstring)."""
    adapter = PipelineAdapter(EmptyPipeline(), "ctool.run.cost:create")
    driver = LoadDriver(adapter)

    async def unrecorded() -> float:
        t = perf_counter_ns()
        for index in range(episodes):
            await adapter.episode(index)
        return (perf_counter_ns() - t) / episodes

    async def recorded() -> float:
        t = perf_counter_ns()
        for index in range(episodes):
            token = activate(EpisodeRecorder())
            await adapter.episode(index)
            deactivate(token)
        return (perf_counter_ns() - t) / episodes

    async def harness() -> float:
        part = PartRecorder("calibration", perf_counter_ns())
        digest = OutputDigest()
        t = perf_counter_ns()
        for _ in range(episodes):
            await driver.episode(part, None, digest)
        digest.hexdigest()  # deferred work counts
        return (perf_counter_ns() - t) / episodes

    variants = [unrecorded, recorded, harness]
    for variant in variants:  # warm
        await variant()
    results: list[list[float]] = [[], [], []]
    for block in range(blocks):
        for k in range(3):  # rotated order: no variant always first
            which = (block + k) % 3
            results[which].append(await variants[which]())
    off, on, full = (statistics.median(values) for values in results)
    return HarnessCost(
        span_ns=max(on - off, 0.0) / SPANS,
        bookkeeping_us=max(full - on, 0.0) / 1e3,
        empty_episode_us=full / 1e3,
        episodes=blocks * episodes,
    )
