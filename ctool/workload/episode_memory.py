"""Memory in flight per episode: the tracemalloc peak each episode reaches above the memory
it started with, at concurrency 1, and what stays behind.

Used by the suite's allocations scenario and the pytest plugin's ``max_memory_kb``. Tracing
slows episodes several-fold, so this is its own pass, never the timed one.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ctool.workload.loader import PipelineAdapter


@dataclass(frozen=True)
class EpisodeMemory:
    transient_bytes: list[int]
    """Per episode: traced peak during the episode minus traced memory at its start."""
    retained_bytes: int
    """Traced memory after the last episode minus before the first."""

    @property
    def episodes(self) -> int:
        return len(self.transient_bytes)

    @property
    def mean_kb(self) -> float:
        return statistics.fmean(self.transient_bytes) / 1024

    @property
    def p95_kb(self) -> float:
        ordered = sorted(self.transient_bytes)
        return ordered[int(0.95 * (len(ordered) - 1))] / 1024

    @property
    def max_kb(self) -> float:
        return max(self.transient_bytes) / 1024

    @property
    def retained_bytes_per_episode(self) -> float:
        return self.retained_bytes / self.episodes


async def measure_episode_memory(
    adapter: PipelineAdapter, *, episodes: int, first_index: int = 0
) -> EpisodeMemory:
    """Run ``episodes`` episodes one at a time under tracemalloc (1 frame) and measure each.

    Warm the pipeline up before calling: a first episode's imports and caches are not what
    an episode holds in flight.
    """
    import tracemalloc

    if episodes < 1:
        raise ValueError("episodes must be at least 1")
    owns = not tracemalloc.is_tracing()
    if owns:
        tracemalloc.start(1)
    transient: list[int] = []
    try:
        start = tracemalloc.get_traced_memory()[0]
        for index in range(episodes):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            await adapter.episode(first_index + index)
            transient.append(tracemalloc.get_traced_memory()[1] - before)
        end = tracemalloc.get_traced_memory()[0]
    finally:
        if owns:
            tracemalloc.stop()
    return EpisodeMemory(transient_bytes=transient, retained_bytes=end - start)
