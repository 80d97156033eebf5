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

Each job is its own part, composed by :class:`LeakRun`: the sample buffers and progress
(``ctool.leak.samples``), the tracing engine (``ctool.leak.tracing``), the object census and
``gc.freeze`` (``ctool.leak.census``), the verdict so far (``ctool.leak.verdicts``), the sites
and their attribution window (``ctool.leak.sites``); what is ctool's own allocation is
``ctool.leak.bookkeeping``, which every bookkeeping function joins with ``@bookkeeping``.

The run stops at the memory budget (``--max-rss``: RSS checked at every sample), at the
time budget, or as soon as the verdict is settled.

A Ctrl-C during the measured part stops it; the samples so far are judged as final and the
report is marked incomplete. The report is assembled by ``ctool.analysis.leak_report`` from
``ctool.leak.measure.measured``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING

from ctool.analysis.leak import MIN_SAMPLES
from ctool.analysis.leak_report import leakcheck_report
from ctool.analysis.leak_verdict import decide, mostly_failed
from ctool.host import stop
from ctool.leak.bookkeeping import bookkeeping, driver_module, is_own_trace
from ctool.leak.config import LeakcheckOptions
from ctool.leak.measure import Errors, measured
from ctool.leak.memray import MemrayTracking, require_memray
from ctool.leak.meter import HeapMeter
from ctool.leak.samples import Progress
from ctool.leak.sites import SiteFinder
from ctool.spans import EpisodeRecorder, activate, deactivate

if TYPE_CHECKING:
    from ctool.model.schema import LeakcheckReport
    from ctool.workload.loader import PipelineAdapter

__all__ = ["LeakcheckOptions", "is_own_trace", "run_leakcheck"]

driver_module(__file__)  # the pipeline's stacks end here (``bookkeeping.inside_driver``)


def run_leakcheck(
    options: LeakcheckOptions, *, on_start: Callable[[str], None] | None = None
) -> LeakcheckReport:
    """Run the check and return its report (``complete=False`` after a Ctrl-C).

    ``on_start(description)`` is called once the pipeline is built, before the warm-up:
    after the errors a bad ``--pipeline`` or ``--set`` can raise.
    """
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
    run = LeakRun(options, MemrayTracking() if options.engine == "memray" else None)
    run.meter.tracing.start()
    try:
        with stop.measuring():
            asyncio.run(run.drive(adapter))
    finally:
        run.meter.close()
    return run.report(ref, duration_s=time.perf_counter() - started)


@bookkeeping
def warm_analysis() -> None:
    """One verdict on made-up samples before tracing starts: the imports and first-call
    caches of numpy and scipy.stats are then not part of traced memory when the rounds are
    judged while tracing."""
    episodes = [float(i) for i in range(MIN_SAMPLES * 3)]
    decide(
        episodes, episodes, [1e6 + e for e in episodes], LeakcheckOptions().criteria(), final=True
    )


class LeakRun:
    """One leakcheck run, composed of parts that each do one job (see the module's
    docstring); every buffer is allocated before tracing starts."""

    def __init__(self, options: LeakcheckOptions, memray: MemrayTracking | None) -> None:
        self.options = options
        self.meter = HeapMeter(options, memray)
        self.progress = Progress(target=options.episodes)
        self.errors = Errors()
        self.sites = SiteFinder()

    async def drive(self, adapter: PipelineAdapter) -> None:
        options, progress = self.options, self.progress
        try:
            for index in range(options.warmup):
                await self.episode(adapter, index)
            self.meter.begin()
            self.progress.start()
            try:
                await self.rounds_until_settled(adapter)
            except (asyncio.CancelledError, KeyboardInterrupt):
                # Ctrl-C: asyncio.run cancels this task. Keep what was measured.
                progress.interrupted = True
                samples = self.meter.samples
                if samples.taken and samples.episode[samples.taken - 1] != progress.done:
                    self.meter.sample(progress.done)
                self.meter.collect_memray()
                self.judge(final=True)
            self.meter.end()
            self.sites.rank(self.meter.tracing, progress.done, options.top)
            if self.needs_attribution():
                await self.sites.attribute(
                    self.meter.tracing,
                    options.frames,
                    lambda index: self.episode(adapter, index),
                    options.warmup + progress.done,
                )
        finally:
            await adapter.aclose()

    async def rounds_until_settled(self, adapter: PipelineAdapter) -> None:
        """Round after round (doubling, ``LeakcheckOptions.rounds``) until the verdict is
        settled or a budget (episodes, seconds, memory) is spent."""
        options, progress = self.options, self.progress
        for target in options.rounds():
            progress.target = target
            stopped_early = not await self.run_to(adapter, target)
            final = stopped_early or target >= options.budget_episodes()
            progress.rounds.append(progress.done)
            self.meter.collect_memray()
            self.judge(final=final)
            if self.meter.verdicts.stops_here():
                progress.exhausted = final
                return
            self.meter.next_round(progress.done)
        progress.exhausted = True

    async def run_to(self, adapter: PipelineAdapter, target: int) -> bool:
        """Measured episodes up to ``target``, sampling on the way; ``False`` when a budget
        (seconds, memory) ran out first (the last sample is then the stopping point)."""
        options, progress = self.options, self.progress
        points = [p for p in options.points_between(progress.done, target) if p > progress.done]
        next_point = 0
        for done in range(progress.done + 1, target + 1):
            started = perf_counter_ns()
            await self.episode(adapter, options.warmup + done - 1)
            self.meter.samples.latency_ns[done - 1] = perf_counter_ns() - started
            progress.done = done
            if done == points[next_point]:
                self.meter.sample(done)
                next_point += 1
                if done < target and self.budget_spent():
                    return False
                # A chance for asyncio.run's Ctrl-C handler to cancel us, even when
                # the pipeline's episodes never suspend.
                await asyncio.sleep(0)
        return True

    def budget_spent(self) -> bool:
        """The time budget ran out, or the process reached the memory budget (RSS at the
        last sample): the run stops here, whatever the verdict so far."""
        options = self.options
        over_time = self.progress.seconds() > options.max_seconds
        return over_time or self.meter.samples.last_rss() >= options.rss_budget()

    def judge(self, *, final: bool) -> None:
        attempted = self.options.warmup + self.progress.done
        self.meter.judge(final=final, failures=(self.errors.count, attempted))

    async def episode(self, adapter: PipelineAdapter, index: int) -> None:
        token = activate(EpisodeRecorder(locate=True))
        try:
            await adapter.episode(index)
        except Exception as exc:  # counted and sampled; the run goes on
            self.errors.add(index, exc)
        finally:
            deactivate(token)

    def needs_attribution(self) -> bool:
        """Not after a Ctrl-C, nor when most episodes failed; else ``SiteFinder``'s rule."""
        if self.progress.interrupted:
            return False
        if mostly_failed(self.errors.count, self.options.warmup + self.progress.done):
            return False
        meter = self.meter
        return self.sites.needs_attribution(
            meter.verdicts.analysis, meter.tracing, self.options.frames
        )

    @bookkeeping
    def report(self, ref: str, *, duration_s: float) -> LeakcheckReport:
        """The report, assembled by ``ctool.analysis.leak_report`` from what was measured."""
        return leakcheck_report(measured(self, ref, duration_s=duration_s))
