"""The harness's one seam to profilers: choose, start, stop, calibrate, collect.

The harness does::

    session = ProfilerSession.open(names, require=..., options=...)   # may raise UsageError
    for w in session.warnings: ...                                     # shown to the user
    # spans in locate mode while session.wants_locate (stage attribution of hotspots)
    session.start(); ...measured episodes...; result = session.stop(episodes=n_measured)
    for w in session.warnings: ...                                     # start() may add one
    await session.calibrate(run_episodes)                              # optional, after stop

``run_episodes(k)`` runs k episodes of the same pipeline and returns their latencies in ns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from ctool.model.errors import ProfilerUnavailable, UsageError
from ctool.model.schema import Hotspot, ProfilerRun
from ctool.profilers.base import Profiler, ProfilerFragment, ProfilerOptions, claims_of
from ctool.profilers.registry import select


def check_claims(profilers: list[Profiler], options: ProfilerOptions) -> None:
    """Two backends that set the same per-thread hook would silently break each other."""
    holders: dict[str, str] = {}
    for profiler in profilers:
        for hook in sorted(claims_of(profiler, options)):
            other = holders.setdefault(hook, profiler.name)
            if other != profiler.name:
                hint = (
                    " (line chooses its functions with a cProfile pass: name them with "
                    "--line-target)"
                    if "line" in (other, profiler.name) and hook == "sys.setprofile"
                    else ""
                )
                raise UsageError(
                    f"profilers {other!r} and {profiler.name!r} cannot run together: both need "
                    f"{hook} on the episode thread{hint}; profile them in separate runs"
                )


def ratio_interval(
    without: list[int], with_profiler: list[int], *, resamples: int = 400, seed: int = 0
) -> list[float]:
    """95 % bootstrap interval of median(with) / median(without), episodes resampled on
    each side (a fixed seed: the same calibration gives the same interval)."""
    import random

    rng = random.Random(seed)
    ratios = sorted(
        statistics.median(rng.choices(with_profiler, k=len(with_profiler)))
        / max(statistics.median(rng.choices(without, k=len(without))), 1)
        for _ in range(resamples)
    )
    return [ratios[int(0.025 * (resamples - 1))], ratios[int(0.975 * (resamples - 1))]]


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

    require: bool = False
    _started: list[Profiler] = field(default_factory=list)

    @classmethod
    def open(cls, names: list[str], *, require: bool, options: ProfilerOptions) -> ProfilerSession:
        """Choose the backends; unknown names, clashing hooks and (with ``require``)
        unavailable backends are usage errors, raised before anything starts."""
        profilers, warnings = select(names, require=require)
        check_claims(profilers, options)
        options.output_dir.mkdir(parents=True, exist_ok=True)
        return cls(profilers, options, warnings, require=require)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.profilers]

    @property
    def wants_locate(self) -> bool:
        """Run spans in locate mode (``EpisodeRecorder(locate=True)``) while profiling, so
        that hotspots can be attributed to the stage whose span encloses them."""
        return bool(self.profilers)

    def start(self) -> None:
        """Start every backend on this (the episode) thread.

        A backend that turns out unable to run only now (py-spy refused at attach time) is
        dropped with a warning, or, with ``require``, everything started is stopped and
        ``ProfilerUnavailable`` raised. Any other start failure (a bad ``--line-target``)
        stops what was started and propagates.
        """
        for profiler in list(self.profilers):
            try:
                profiler.start(self.options)
            except ProfilerUnavailable as exc:
                if self.require:
                    self._abandon()
                    raise
                self.profilers.remove(profiler)
                self.warnings.append(exc.message + "; continuing without it")
                self.result.runs.append(
                    ProfilerRun(name=profiler.name, ok=False, reason=exc.message)
                )
                continue
            except BaseException:
                self._abandon()
                raise
            self._started.append(profiler)

    def _abandon(self) -> None:
        """Stop what was started, discarding results (a failed start)."""
        while self._started:
            profiler = self._started.pop()
            with contextlib.suppress(Exception):
                profiler.stop()

    def stop(self, *, episodes: int | None = None) -> ProfilerResult:
        """Stop in reverse order of start; a backend that fails to stop is reported, not fatal.

        ``episodes``, the number of episodes measured while profiling, lets backends report
        per-episode figures (tracemalloc's retained bytes per episode).
        """
        if episodes is not None:
            self.options.extra["episodes"] = episodes
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
        self.result.runs.append(
            ProfilerRun(
                name=fragment.name,
                metadata=fragment.metadata,
                row_shares=fragment.row_shares,
                row_ms_per_episode=fragment.row_ms_per_episode,
            )
        )

    async def calibrate(
        self,
        run_episodes: Callable[[int], Awaitable[list[int]]],
        *,
        episodes_per_slice: int = 10,
        slices: int = 4,
        settle: int = 2,
    ) -> None:
        """Overhead of each profiler: interleaved slices with and without it (off, on, off, on…).

        The ratio is median episode time with the profiler over median without, both taken
        from the same interleaved sequence so machine drift affects both sides alike. Each
        slice begins with ``settle`` unmeasured episodes: a profiler's first moments (py-spy
        reading the process's memory maps) are not its steady cost.
        """
        runs = {run.name: run for run in self.result.runs}
        # Calibration artifacts are thrown away: they must not overwrite the run's own.
        scratch = tempfile.TemporaryDirectory(prefix="ctool-calibrate-")
        options = dataclasses.replace(self.options, output_dir=Path(scratch.name))
        try:
            await self._calibrate_each(
                run_episodes, options, runs, episodes_per_slice, slices, settle
            )
        finally:
            scratch.cleanup()

    async def _calibrate_each(
        self,
        run_episodes: Callable[[int], Awaitable[list[int]]],
        options: ProfilerOptions,
        runs: dict[str, ProfilerRun],
        episodes_per_slice: int,
        slices: int,
        settle: int,
    ) -> None:
        async def measured() -> list[int]:
            if settle > 0:
                await run_episodes(settle)
            return await run_episodes(episodes_per_slice)

        for profiler in self.profilers:
            without: list[int] = []
            with_profiler: list[int] = []
            try:
                for index in range(slices):
                    # off-on, on-off, ...: a trend in the machine's speed hits both sides.
                    for profiled in (False, True) if index % 2 == 0 else (True, False):
                        if not profiled:
                            without.extend(await measured())
                            continue
                        profiler.start(options)
                        try:
                            with_profiler.extend(await measured())
                        finally:
                            profiler.stop()
            except ProfilerUnavailable as exc:
                self.warnings.append(f"overhead of {profiler.name!r} not measured: {exc.message}")
                continue
            except Exception as exc:  # calibration is a bonus: it never fails the run
                self.warnings.append(
                    f"overhead of {profiler.name!r} not measured: {type(exc).__name__}: {exc}"
                )
                continue
            run = runs.get(profiler.name)
            if run is not None and without and with_profiler:
                median_without = statistics.median(without)
                median_with = statistics.median(with_profiler)
                run.overhead_ratio = median_with / max(median_without, 1)
                run.metadata["calibration"] = {
                    "ratio_interval": ratio_interval(without, with_profiler),
                    "slices": slices,
                    "episodes_per_slice": episodes_per_slice,
                    "settle_episodes": settle,
                    "median_ms_without": median_without / 1e6,
                    "median_ms_with": median_with / 1e6,
                }
