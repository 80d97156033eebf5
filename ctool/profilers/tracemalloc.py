"""tracemalloc backend: where the workload's memory is allocated, and what each episode keeps.

tracemalloc only knows the blocks alive at the moment of a snapshot (it cannot count blocks
already freed), so the backend reports two honest views:

* **in flight**: snapshots taken now and then *during* the run (by a background thread,
  spaced so that they cost at most about 5 % of the run) show which sites hold memory while
  episodes execute; a site's ``size``/``count`` is its mean over those snapshots.
* **retained**: the snapshot at :meth:`stop` holds what the run allocated and never freed;
  divided by the number of episodes (``options.extra["episodes"]``) that is bytes and
  allocations kept per episode -- the leak rate, 0 for a clean pipeline.

A site is the innermost frame that is not library code, so ``np.zeros`` called by the
pipeline is charged to the pipeline's line; the library frame is kept in
``extra["allocated_at"]``. Allocations whose owner is ctool's own machinery (harness,
profilers) are left out. The stage of a site is the span enclosing its stack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ctool.model.schema import Hotspot
from ctool.profilers.base import Availability, ProfilerFragment, ProfilerOptions
from ctool.profilers.frames import function_at, is_machinery, owner_frame
from ctool.profilers.span_blocks import learn_blocks
from ctool.profilers.stages import StageVotes, resolve_stage
from ctool.spans import LOCATOR

if TYPE_CHECKING:
    import tracemalloc as _tracemalloc

DEFAULT_FRAMES = 8
"""Traceback depth. A site is the innermost frame that is not library code (the *owner*,
``ctool.profilers.frames.owner_frame``); folding a site into its boundary row needs that
owner inside the traceback. Measured (2026-11-29, a snapshot every 5 episodes of 30, depth
64 as the truth): the share of bytes whose owner at depth d is the owner at depth 64 is, on
the reference pipeline, 46 % at 1, 88 % at 4, 98 % at 8, 100 % at 12; on
examples/etl_pipeline.py (json, sqlite3), 10 %, 98 %, 99.5 %, 100 %. tracemalloc's cost
grows with the depth (x3.4 at 1 frame, x7.8 at 4, x22 at 16 on the reference pipeline's
thread CPU), so 8 -- about half the cost of 16 -- and ``extra["tracemalloc_frames"]`` for
deeper library stacks."""
MAX_SNAPSHOT_SHARE = 0.05
"""The in-flight sampler sleeps long enough that snapshots cost at most this share of the run."""
FIRST_SNAPSHOT_S = 0.02


@dataclass
class SiteTotals:
    size: int = 0
    count: int = 0
    allocated_at: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass
class SiteTable:
    """Bytes and blocks per allocation site, summed over one or more snapshots."""

    sites: dict[tuple[str, int], SiteTotals] = field(default_factory=dict)
    votes: StageVotes = field(default_factory=StageVotes)
    snapshots: int = 0
    dropped_bytes: int = 0
    """Bytes owned by ctool's own machinery or by no Python code at all, left out."""

    def add(self, statistics: Iterable[_tracemalloc.Statistic]) -> None:
        self.snapshots += 1
        for stat in statistics:
            frames = [(frame.filename, frame.lineno) for frame in reversed(stat.traceback)]
            self.add_stack(frames, stat.size, stat.count, stat.traceback.total_nframe or 0)

    def add_stack(
        self, frames: list[tuple[str, int]], size: int, count: int, total_nframe: int = 0
    ) -> None:
        """One stack's bytes and blocks (frames innermost first; ``total_nframe``: the
        stack's real depth when the frames are a truncated traceback)."""
        if not frames:
            return
        owner = owner_frame(frames)
        if owner is None and len(frames) >= total_nframe:
            # The whole stack is library code: a thread's bootstrap, the interpreter.
            self.dropped_bytes += size
            return
        owner = owner or frames[0]
        if is_machinery(owner[0]):
            self.dropped_bytes += size
            return
        totals = self.sites.get(owner)
        if totals is None:
            totals = self.sites[owner] = SiteTotals()
        totals.size += size
        totals.count += count
        if frames[0] != owner:
            totals.allocated_at[frames[0]] = totals.allocated_at.get(frames[0], 0) + size
        learn_blocks(filename for filename, _ in frames)
        self.votes.add(owner, LOCATOR.stage_of_stack(frames), size)

    def total_size(self) -> int:
        return sum(totals.size for totals in self.sites.values())


def _statistics(snapshot: _tracemalloc.Snapshot) -> list[_tracemalloc.Statistic]:
    return snapshot.statistics("traceback")


class _InFlightSampler:
    """Takes snapshots during the run from a daemon thread, each folded at once into a table."""

    def __init__(self, table: SiteTable) -> None:
        self.table = table
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ctool-tracemalloc", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        import tracemalloc

        wait = FIRST_SNAPSHOT_S
        while not self._halt.wait(wait):
            began = time.perf_counter()
            self.table.add(_statistics(tracemalloc.take_snapshot()))
            spent = time.perf_counter() - began
            wait = max(FIRST_SNAPSHOT_S, spent * (1 - MAX_SNAPSHOT_SHARE) / MAX_SNAPSHOT_SHARE)


class TracemallocBackend:
    name: ClassVar[str] = "tracemalloc"
    description: ClassVar[str] = "tracemalloc: allocation sites in flight and retained per episode"

    def __init__(self) -> None:
        self._options: ProfilerOptions | None = None
        self._owned = False
        self._baseline: _tracemalloc.Snapshot | None = None
        self._inflight: SiteTable | None = None
        self._sampler: _InFlightSampler | None = None
        self._started_at = 0.0

    def availability(self) -> Availability:
        import tracemalloc  # stdlib; present wherever Python is

        if tracemalloc.is_tracing():
            return Availability(True, "tracemalloc already tracing; sharing it")
        return Availability(True)

    def start(self, options: ProfilerOptions) -> None:
        import tracemalloc

        self._options = options
        frames = int(options.extra.get("tracemalloc_frames", DEFAULT_FRAMES))
        self._owned = not tracemalloc.is_tracing()
        if self._owned:
            tracemalloc.start(frames)
            self._baseline = None
        else:  # someone else traces: only what changes from now on is ours
            self._baseline = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        self._inflight = SiteTable()
        self._sampler = _InFlightSampler(self._inflight)
        self._started_at = time.perf_counter()
        self._sampler.start()

    def stop(self) -> ProfilerFragment:
        import tracemalloc

        if self._options is None or self._inflight is None or self._sampler is None:
            raise RuntimeError("tracemalloc: stop() without start()")
        options, inflight, sampler = self._options, self._inflight, self._sampler
        self._inflight = self._sampler = None
        sampler.stop()
        try:
            snapshot = tracemalloc.take_snapshot()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            if self._owned:
                tracemalloc.stop()
        duration_s = time.perf_counter() - self._started_at
        retained = SiteTable()
        if self._baseline is None:
            retained.add(_statistics(snapshot))
        else:
            retained.add(self._retained_since(self._baseline, snapshot))
            self._baseline = None
        if inflight.snapshots == 0:  # a run shorter than the first sampling interval
            inflight = retained
        path = options.output_dir / "tracemalloc.snapshot"
        snapshot.dump(str(path))
        return ProfilerFragment(
            name=self.name,
            hotspots=self._rows(inflight, retained, options.top),
            artifacts={"tracemalloc": str(path)},
            metadata=self._metadata(inflight, retained, options, peak, duration_s),
        )

    @staticmethod
    def _retained_since(
        baseline: _tracemalloc.Snapshot, snapshot: _tracemalloc.Snapshot
    ) -> list[_tracemalloc.Statistic]:
        import tracemalloc

        return [
            tracemalloc.Statistic(diff.traceback, diff.size_diff, max(diff.count_diff, 0))
            for diff in snapshot.compare_to(baseline, "traceback")
            if diff.size_diff > 0
        ]

    def _rows(self, inflight: SiteTable, retained: SiteTable, top: int) -> list[Hotspot]:
        return site_rows(self.name, inflight, retained, top)

    def _metadata(
        self,
        inflight: SiteTable,
        retained: SiteTable,
        options: ProfilerOptions,
        peak: int,
        duration_s: float,
    ) -> dict[str, Any]:
        episodes = options.extra.get("episodes")
        retained_bytes = retained.total_size()
        retained_count = sum(totals.count for totals in retained.sites.values())
        per_episode: dict[str, float | None] = {
            "retained_bytes_per_episode": None,
            "retained_allocations_per_episode": None,
        }
        if isinstance(episodes, int) and episodes > 0:
            per_episode = {
                "retained_bytes_per_episode": retained_bytes / episodes,
                "retained_allocations_per_episode": retained_count / episodes,
            }
        return {
            "episodes": episodes,
            "duration_s": duration_s,
            "peak_traced_bytes": peak,
            "inflight_snapshots": inflight.snapshots,
            "inflight_bytes_mean": inflight.total_size() / max(inflight.snapshots, 1),
            "retained_bytes": retained_bytes,
            "retained_allocations": retained_count,
            **per_episode,
            "retained_bytes_left_out": retained.dropped_bytes,
            "retained_sites": retained_site_rows(retained, options.top),
        }


def site_rows(profiler: str, table: SiteTable, retained: SiteTable, top: int) -> list[Hotspot]:
    """The top sites of ``table`` (mean over its snapshots) as hotspot rows, each with what
    ``retained`` kept at the same site (shared with the memray backend)."""
    snapshots = max(table.snapshots, 1)
    total = table.total_size() or 1
    ranked = sorted(table.sites.items(), key=lambda item: item[1].size, reverse=True)
    rows = []
    for (filename, lineno), totals in ranked[:top]:
        kept = retained.sites.get((filename, lineno), SiteTotals())
        extra: dict[str, Any] = {
            "size_bytes": totals.size / snapshots,
            "count": totals.count / snapshots,
            "retained_bytes": kept.size,
            "retained_count": kept.count,
        }
        if totals.allocated_at:
            (at_file, at_line), _ = max(totals.allocated_at.items(), key=lambda i: i[1])
            extra["allocated_at"] = f"{at_file}:{at_line}"
        rows.append(
            Hotspot(
                profiler=profiler,
                function=function_at(filename, lineno),
                file=filename,
                line=lineno,
                calls=round(totals.count / snapshots),
                share=totals.size / total,
                stage=resolve_stage(table.votes, (filename, lineno), filename, name=None),
                extra=extra,
            )
        )
    return rows


def retained_site_rows(retained: SiteTable, top: int) -> list[dict[str, Any]]:
    """The top retained sites as plain rows for a fragment's metadata."""
    return [
        {
            "function": function_at(filename, lineno),
            "file": filename,
            "line": lineno,
            "size_bytes": totals.size,
            "count": totals.count,
            "stage": resolve_stage(retained.votes, (filename, lineno), filename),
        }
        for (filename, lineno), totals in sorted(
            retained.sites.items(), key=lambda item: item[1].size, reverse=True
        )[:top]
    ]
