"""The leakcheck run: rounds of episodes, memory sampled as they go, a verdict per round.

Sequence (each step chosen so that ctool's own bookkeeping does not show up as growth;
docs/leakcheck.md, "How it measures", has the reasons and the figures):

1. Build the pipeline, *then* start tracing (tracemalloc, one frame per traceback; or
   ``--engine memray``: ``ctool.leak.memray``). A verdict is computed once on
   made-up samples first, so numpy's and scipy's first-call caches are not growth.
2. Warm-up episodes (discarded), each under a locate-mode span recorder, so each
   ``ctool.span`` block registers its lines with the stage ``LOCATOR``.
3. ``gc.collect()``, a count of live objects by type, the start snapshot, ``gc.freeze()``
   (later collections walk only what the measured episodes made).
4. Rounds of measured episodes (``LeakcheckOptions.rounds``: doubling, a stop at the
   horizon, up to the budget in episodes and seconds). Every ``every`` episodes:
   ``gc.collect()`` and a sample (retained bytes, RSS, live objects) into arrays allocated
   before tracing started. After each round ``ctool.analysis.leak_verdict.decide``: settled
   (leak or clean) or not (the next round; objects are counted by type at its start, for
   the object evidence). What the verdict keeps is one pickled ``bytes``, measured and
   subtracted from later samples.
5. End snapshot, diff by traceback -> growing sites; objects counted by type again (traced
   to their lines when the verdict is not clean); tracing stops.
6. Only when the verdict is not clean and a site has no stage: a short attribution window
   -- a few episodes traced with deep tracebacks (``frames``) -- so that a site inside a
   helper is traced back to the ``with ctool.span(...)`` line of its stage.

A Ctrl-C during the measured part stops it; the samples so far are judged as final and the
report is marked incomplete. The report is assembled by ``ctool.analysis.leak_report`` from
``ctool.leak.measure.measured``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import pickle
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING

from ctool.analysis.leak import (
    MIN_SAMPLES,
    RawSite,
    attribute_sites,
    rank_sites,
)
from ctool.analysis.leak_report import leakcheck_report
from ctool.analysis.leak_verdict import LeakAnalysis, decide
from ctool.host import stop
from ctool.leak.config import LeakcheckOptions
from ctool.leak.heap import (
    RSSReader,
    by_name,
    count_types,
    count_types_in_thread,
    decode_sites,
    describe_line,
    encode_sites,
    growth_since,
    is_plumbing_file,
    live_traces,
    type_sites,
)
from ctool.leak.measure import (
    Errors,
    growing_types,
    inside_driver,
    is_own_trace,
    measured,
)
from ctool.leak.memray import MemrayTracking, require_memray
from ctool.spans import LOCATOR, EpisodeRecorder, activate, deactivate

if TYPE_CHECKING:
    import tracemalloc

    from ctool.model.schema import LeakcheckReport, LeakSite
    from ctool.workload.loader import PipelineAdapter

MEASURE_FRAMES = 1
"""tracemalloc traceback depth during warm-up and the measured part (see above)."""
ATTRIBUTION_EPISODES = 10
"""Episodes in the attribution window. A site that grows every episode (a leak) allocates
in each of them; at the window's depth they cost some 20x a plain episode."""

__all__ = ["LeakcheckOptions", "is_own_trace", "run_leakcheck"]


def run_leakcheck(
    options: LeakcheckOptions, *, on_start: Callable[[str], None] | None = None
) -> LeakcheckReport:
    """Run the check and return its report (``complete=False`` after a Ctrl-C).

    ``on_start(description)`` is called once the pipeline is built, before the warm-up:
    after the errors a bad ``--pipeline`` or ``--set`` can raise.
    """
    import tracemalloc

    from ctool.workload.loader import DEFAULT_PIPELINE, build_pipeline

    options.validate()
    if options.engine == "memray":
        require_memray()
    ref = options.pipeline or DEFAULT_PIPELINE
    started = time.perf_counter()
    # Built before tracing starts: a factory that imports numpy on its first call would
    # otherwise trace the import (slow, and thousands of module objects in every snapshot).
    adapter = build_pipeline(
        ref, seed=options.seed, preset=options.preset, settings=options.settings
    )
    if on_start is not None:
        on_start(
            f"leakcheck: {ref}: {options.warmup} warm-up + {options.episodes} measured "
            f"episodes, memory sampled every {options.every} ..."
        )
    warm_analysis()
    run = LeakRun(options)
    if options.engine == "memray":
        run.memray = MemrayTracking()
    else:
        run.owns_tracing = not tracemalloc.is_tracing()
        if run.owns_tracing:
            tracemalloc.start(MEASURE_FRAMES)
        # else: PYTHONTRACEMALLOC (or the caller) traces already, at its own depth; use it.
    try:
        with stop.measuring():
            asyncio.run(run.drive(adapter))
    finally:
        run.release()
        run.start_snapshot = None
        run.stop_tracing()
        run.rss.close()
        if run.memray is not None:
            run.memray.close()
    return run.report(ref, duration_s=time.perf_counter() - started)


def warm_analysis() -> None:
    """One verdict on made-up samples before tracing starts: the imports and first-call
    caches of numpy and scipy.stats are then not part of traced memory when the rounds are
    judged while tracing."""
    episodes = [float(i) for i in range(MIN_SAMPLES * 3)]
    decide(
        episodes, episodes, [1e6 + e for e in episodes], LeakcheckOptions().criteria(), final=True
    )


class LeakRun:
    """State of one leakcheck run; every buffer is allocated before tracing starts."""

    def __init__(self, options: LeakcheckOptions) -> None:
        self.options = options
        n = options.max_samples()
        self.sample_episode = array("q", bytes(8 * n))
        self.sample_traced = array("q", bytes(8 * n))
        self.sample_rss = array("q", bytes(8 * n))
        self.sample_objects = array("q", bytes(8 * n))
        self.latency_ns = array("q", bytes(8 * options.budget_episodes()))
        self.rounds: list[int] = []
        self.target = options.episodes
        self.exhausted = False
        self.own_bytes = 0
        """Traced bytes ctool keeps between samples (verdicts, type counts): subtracted."""
        self.measure_started = 0.0
        self.mid_blob: bytes | None = None
        """Live objects by type name at the start of the last round, as JSON (one bytes,
        ctool's own, like ``verdict_blob``)."""
        self.mid_episode = 0
        self.type_sites: dict[str, Counter[tuple[str, int]]] = {}
        self.memray: MemrayTracking | None = None
        self.replayed = 0
        """Samples whose retained bytes came from memray's files so far."""
        self.taken = 0
        self.done = 0
        self.snapshot_bytes = 0
        self.errors = Errors()
        self.interrupted = False
        self.frozen = False
        self.owns_tracing = False
        self.rss = RSSReader()
        self.start_types: Counter[type] = Counter()
        self.end_types: Counter[type] = Counter()
        self.freeze_count = 0
        self.start_snapshot: tracemalloc.Snapshot | None = None
        self.raw_sites_blob = b""
        self.traceback_frames = MEASURE_FRAMES
        self.attribution_episodes = 0
        self.verdict_blob: bytes | None = None
        """The latest verdict, pickled: one ``bytes`` (allocated on a line of this module, so
        the site table knows it as ctool's) instead of models and floats that would show up
        as growing sites and types."""
        self.sites: list[LeakSite] = []

    async def drive(self, adapter: PipelineAdapter) -> None:
        import tracemalloc

        # memray: 0, whole Python stacks.
        self.traceback_frames = 0 if self.memray else tracemalloc.get_traceback_limit()
        options = self.options
        try:
            for index in range(options.warmup):
                await self.episode(adapter, index)
            self.begin()
            try:
                await self.rounds_until_settled(adapter)
            except (asyncio.CancelledError, KeyboardInterrupt):
                # Ctrl-C: asyncio.run cancels this task. Keep what was measured.
                self.interrupted = True
                if self.taken and self.sample_episode[self.taken - 1] != self.done:
                    self.sample(self.done)
                self.collect_memray()
                self.judge(final=True)
            self.end()
            self.conclude()
            if self.needs_attribution():
                await self.attribute(adapter, options.warmup + self.done)
        finally:
            await adapter.aclose()

    async def rounds_until_settled(self, adapter: PipelineAdapter) -> None:
        """Round after round (doubling, ``LeakcheckOptions.rounds``) until the verdict is
        settled or the budget (episodes, seconds) is spent."""
        options = self.options
        for target in options.rounds():
            self.target = target
            stopped_early = not await self.run_to(adapter, target)
            final = stopped_early or target >= options.budget_episodes()
            self.rounds.append(self.done)
            self.collect_memray()
            self.judge(final=final)
            if self.analysis is None or self.analysis.settled:
                self.exhausted = final
                return
            self.count_mid_types()
            if self.memray is not None:
                self.memray.start_round()
        self.exhausted = True

    def blob_bytes(self) -> int:
        """What ctool keeps between samples: the verdict and the type count, one ``bytes``
        each, at their allocated size. (Measured as exactly that rather than as the change in
        traced memory around judging and counting: a thread's remains and the like are freed
        later, and a difference taken around them over-subtracts.)"""
        blobs = (self.verdict_blob, self.mid_blob)
        return sum(sys.getsizeof(blob) for blob in blobs if blob is not None)

    def own_tables(self) -> tuple[object, ...]:
        """ctool's own containers alive during a count (the verdict and type-count blobs, memray's
        tables), for the count to leave out."""
        blobs = tuple(blob for blob in (self.verdict_blob, self.mid_blob) if blob is not None)
        return blobs + (() if self.memray is None else self.memray.containers())

    def collect_memray(self) -> None:
        """memray: close the round's Tracker and fill in the retained bytes of its samples
        from its file (``ctool.leak.memray``)."""
        if self.memray is None:
            return
        marks = self.memray.end_round()
        for value in marks[: self.taken - self.replayed]:
            self.sample_traced[self.replayed] = value
            self.replayed += 1

    async def run_to(self, adapter: PipelineAdapter, target: int) -> bool:
        """Measured episodes up to ``target``, sampling on the way; ``False`` when the time
        budget ran out first (the last sample is then the stopping point)."""
        options = self.options
        points = [p for p in options.points_between(self.done, target) if p > self.done]
        next_point = 0
        for done in range(self.done + 1, target + 1):
            started = perf_counter_ns()
            await self.episode(adapter, options.warmup + done - 1)
            self.latency_ns[done - 1] = perf_counter_ns() - started
            self.done = done
            if done == points[next_point]:
                self.sample(done)
                next_point += 1
                if done < target and time.perf_counter() - self.measure_started > (
                    options.max_seconds
                ):
                    return False
                # A chance for asyncio.run's Ctrl-C handler to cancel us, even when
                # the pipeline's episodes never suspend.
                await asyncio.sleep(0)
        return True

    def judge(self, *, final: bool) -> None:
        """The verdict on the samples so far; what it keeps is ctool's, not growth."""
        n = self.taken
        if n < MIN_SAMPLES:
            return
        self.verdict_blob = None  # the previous one freed first
        self.verdict_blob = pickle.dumps(
            decide(
                list(self.sample_episode[:n]),
                list(self.sample_traced[:n]),
                list(self.sample_rss[:n]),
                self.options.criteria(),
                final=final,
            )
        )
        self.own_bytes = self.blob_bytes()

    @property
    def analysis(self) -> LeakAnalysis | None:
        analysis: LeakAnalysis | None = (
            pickle.loads(self.verdict_blob) if self.verdict_blob else None
        )
        return analysis

    def count_mid_types(self) -> None:
        """Live objects by type at the start of the next round: the object evidence
        compares growth per episode before and after this point."""
        self.release()
        self.mid_blob = None
        counts = count_types_in_thread(exclude=(self.start_types, *self.own_tables()))
        self.mid_blob = json.dumps(by_name(counts)).encode()
        del counts
        self.mid_episode = self.done
        gc.freeze()
        self.frozen = True
        self.freeze_count = gc.get_freeze_count()
        self.own_bytes = self.blob_bytes()

    async def episode(self, adapter: PipelineAdapter, index: int) -> None:
        token = activate(EpisodeRecorder(locate=True))
        try:
            await adapter.episode(index)
        except Exception as exc:  # counted and sampled; the run goes on
            self.errors.add(index, exc)
        finally:
            deactivate(token)

    def begin(self) -> None:
        import tracemalloc

        gc.collect()
        # Counted before the snapshot: what counting allocates (its Counter, ABC caches, the
        # thread's bookkeeping) is then in both snapshots, not growth. The end count runs
        # after the start snapshot is gone, so neither count sees it.
        self.start_types = count_types_in_thread()
        if self.memray is None:
            before = tracemalloc.get_traced_memory()[0]
            self.start_snapshot = tracemalloc.take_snapshot()
            # The snapshot stays alive, unchanged, all run: a constant, not the pipeline's.
            self.snapshot_bytes = tracemalloc.get_traced_memory()[0] - before
        gc.collect()
        gc.freeze()
        self.frozen = True
        self.freeze_count = gc.get_freeze_count()  # walks a list: once, not per sample
        self.measure_started = time.perf_counter()
        if self.memray is not None:
            self.memray.start_round()
        self.sample(0)

    def sample(self, done: int) -> None:
        import tracemalloc

        gc.collect()
        traced = tracemalloc.get_traced_memory()[0]
        rss = self.rss.read()
        objects = self.freeze_count + len(gc.get_objects())
        i = self.taken
        self.sample_episode[i] = done
        self.sample_traced[i] = traced - self.snapshot_bytes - self.own_bytes
        self.sample_rss[i] = rss
        self.sample_objects[i] = objects
        self.taken = i + 1
        if self.memray is not None:
            self.memray.checkpoint()

    def end(self) -> None:
        if self.start_snapshot is not None:
            # Kept as one bytes object while the types are counted, not as thousands of
            # tuples that would count as growth.
            self.raw_sites_blob = encode_sites(growth_since(self.start_snapshot))
            self.start_snapshot = None
        self.release()
        gc.collect()
        if self.owns_tracing and self.analysis is not None and self.analysis.verdict != "clean":
            # Counted while tracing (in a thread, in chunks: see heap.count_types), so that
            # the new objects of the types that grew can be traced to the line making them.
            self.end_types = count_types_in_thread(exclude=(self.start_types, *self.own_tables()))
            grown = growing_types(self.start_types, self.end_types, self.options.top)
            self.type_sites = type_sites(grown, skip=(self.start_types, self.end_types))
            self.stop_tracing()
            return
        # Counting types allocates an int per increment: twenty times slower while tracing.
        self.stop_tracing()
        gc.collect()
        self.end_types = count_types(exclude=(self.start_types, *self.own_tables()))

    def release(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False

    def stop_tracing(self) -> None:
        import tracemalloc

        if self.owns_tracing:
            tracemalloc.stop()
            self.owns_tracing = False

    def conclude(self) -> None:
        """The verdict and the growing sites, from what ``end`` collected."""
        options = self.options
        found = (
            decode_sites(self.raw_sites_blob)
            if self.memray is None
            else self.memray.sites(keep=lambda frames: not is_own_trace(frames))
        )
        raw_sites = [
            RawSite(inside_driver(site.frames), site.size_diff, site.count_diff)
            for site in found
            if not is_own_trace(site.frames)
        ]
        self.sites = rank_sites(
            raw_sites,
            self.done,
            is_plumbing=is_plumbing_file,
            stage_of=LOCATOR.stage_of_stack,
            describe=describe_line,
            top=options.top,
        )

    def needs_attribution(self) -> bool:
        """A deeper look is worth its cost when there is something to explain: not after a
        Ctrl-C, not on a clean run, not when every site already has its stage."""
        import tracemalloc

        return (
            not self.interrupted
            and self.memray is None  # memray records whole stacks already
            and self.analysis is not None
            and self.analysis.verdict != "clean"
            and any(site.stage is None for site in self.sites)
            and self.options.frames > MEASURE_FRAMES
            and not tracemalloc.is_tracing()  # someone else's tracing: its depth stands
        )

    async def attribute(self, adapter: PipelineAdapter, first_index: int) -> None:
        """Trace a few more episodes with deep tracebacks; give each site the stage of its
        largest traceback in that window."""
        import tracemalloc

        tracemalloc.start(self.options.frames)
        self.owns_tracing = True
        try:
            for i in range(ATTRIBUTION_EPISODES):
                await self.episode(adapter, first_index + i)
            window = live_traces(tracemalloc.take_snapshot())
        finally:
            self.stop_tracing()
        self.attribution_episodes = ATTRIBUTION_EPISODES
        self.traceback_frames = self.options.frames
        self.sites = attribute_sites(
            self.sites,
            [
                RawSite(inside_driver(raw.frames), raw.size_diff, raw.count_diff)
                for raw in window
                if not is_own_trace(raw.frames)
            ],
            is_plumbing=is_plumbing_file,
            stage_of=LOCATOR.stage_of_stack,
        )

    def report(self, ref: str, *, duration_s: float) -> LeakcheckReport:
        """The report, assembled by ``ctool.analysis.leak_report`` from what was measured."""
        return leakcheck_report(measured(self, ref, duration_s=duration_s))
