"""The harness's one seam to profilers: choose, start, stop, calibrate, collect.

The harness does::

    session = ProfilerSession.open(names, require=..., options=...)   # may raise UsageError
    for w in session.warnings: ...                                     # shown to the user
    session.start(); ...measured episodes...; result = session.stop()
    await session.calibrate(run_episodes)                              # optional, after stop

``run_episodes(k)`` runs k episodes of the same pipeline and returns their latencies in ns.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ctool.profilers.base import Profiler, ProfilerFragment, ProfilerOptions
from ctool.profilers.registry import select
from ctool.reports.schema import Hotspot, ProfilerRun


@dataclass
class ProfilerResult:
    hotspots: list[Hotspot] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    runs: list[ProfilerRun] = field(default_factory=list)


@dataclass
class ProfilerSession:
    profilers: list[Profiler]
    options: ProfilerOptions
    warnings: list[str] = field(default_factory=list)
    result: ProfilerResult = field(default_factory=ProfilerResult)
    _started: list[Profiler] = field(default_factory=list)

    @classmethod
    def open(cls, names: list[str], *, require: bool, options: ProfilerOptions) -> ProfilerSession:
        profilers, warnings = select(names, require=require)
        options.output_dir.mkdir(parents=True, exist_ok=True)
        return cls(profilers, options, warnings)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.profilers]

    def start(self) -> None:
        for profiler in self.profilers:
            profiler.start(self.options)
            self._started.append(profiler)

    def stop(self) -> ProfilerResult:
        """Stop in reverse order of start; a backend that fails to stop is reported, not fatal."""
        while self._started:
            profiler = self._started.pop()
            try:
                fragment = profiler.stop()
            except Exception as exc:
                self.result.runs.append(
                    ProfilerRun(name=profiler.name, ok=False, reason=f"{type(exc).__name__}: {exc}")
                )
                continue
            self._collect(fragment)
        return self.result

    def _collect(self, fragment: ProfilerFragment) -> None:
        self.result.hotspots.extend(fragment.hotspots)
        self.result.artifacts.update(fragment.artifacts)
        self.result.runs.append(ProfilerRun(name=fragment.name, metadata=fragment.metadata))

    async def calibrate(
        self,
        run_episodes: Callable[[int], Awaitable[list[int]]],
        *,
        episodes_per_slice: int = 10,
        slices: int = 4,
    ) -> None:
        """Overhead of each profiler: interleaved slices with and without it (off, on, off, on…).

        The ratio is median episode time with the profiler over median without, both taken
        from the same interleaved sequence so machine drift affects both sides alike.
        """
        runs = {run.name: run for run in self.result.runs}
        # Calibration artifacts are thrown away: they must not overwrite the run's own.
        scratch = tempfile.TemporaryDirectory(prefix="ctool-calibrate-")
        options = dataclasses.replace(self.options, output_dir=Path(scratch.name))
        try:
            await self._calibrate_each(run_episodes, options, runs, episodes_per_slice, slices)
        finally:
            scratch.cleanup()

    async def _calibrate_each(
        self,
        run_episodes: Callable[[int], Awaitable[list[int]]],
        options: ProfilerOptions,
        runs: dict[str, ProfilerRun],
        episodes_per_slice: int,
        slices: int,
    ) -> None:
        for profiler in self.profilers:
            without: list[int] = []
            with_profiler: list[int] = []
            for _ in range(slices):
                without.extend(await run_episodes(episodes_per_slice))
                profiler.start(options)
                try:
                    with_profiler.extend(await run_episodes(episodes_per_slice))
                finally:
                    profiler.stop()
            run = runs.get(profiler.name)
            if run is not None and without and with_profiler:
                run.overhead_ratio = statistics.median(with_profiler) / max(
                    statistics.median(without), 1
                )
