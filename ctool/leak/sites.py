"""Where retained memory grew: the pipeline's allocation sites ranked with their stage and,
when a site has no stage, a short attribution window -- a few episodes traced with deep
tracebacks -- that traces it back to the ``with ctool.span(...)`` line of its stage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ctool.analysis.leak import RawSite, attribute_sites, rank_sites
from ctool.leak.bookkeeping import bookkeeping, inside_driver, is_own_trace
from ctool.leak.heap import describe_line, is_plumbing_file, live_traces
from ctool.leak.tracing import MEASURE_FRAMES, Tracing
from ctool.spans import LOCATOR

if TYPE_CHECKING:
    from ctool.analysis.leak_verdict import LeakAnalysis
    from ctool.model.schema import LeakSite

ATTRIBUTION_EPISODES = 10
"""Episodes in the attribution window. A site that grows every episode (a leak) allocates
in each of them; at the window's depth they cost some 20x a plain episode."""


class SiteFinder:
    def __init__(self) -> None:
        self.sites: list[LeakSite] = []
        self.attribution_episodes = 0

    @bookkeeping
    def rank(self, tracing: Tracing, done: int, top: int) -> None:
        """The sites that grew over ``done`` measured episodes, largest first."""
        self.sites = rank_sites(
            tracing.grown_sites(),
            done,
            is_plumbing=is_plumbing_file,
            stage_of=LOCATOR.stage_of_stack,
            describe=describe_line,
            top=top,
        )

    def needs_attribution(
        self, analysis: LeakAnalysis | None, tracing: Tracing, frames: int
    ) -> bool:
        """A deeper look is worth its cost when there is something to explain: not on a
        clean run, not when every site already has its stage (the caller rules out a Ctrl-C
        and failing episodes)."""
        import tracemalloc

        return (
            tracing.memray is None  # memray records whole stacks already
            and analysis is not None
            and analysis.verdict != "clean"
            and any(site.stage is None for site in self.sites)
            and frames > MEASURE_FRAMES
            and not tracemalloc.is_tracing()  # someone else's tracing: its depth stands
        )

    async def attribute(
        self, tracing: Tracing, frames: int, episode: Callable[[int], Awaitable[None]], first: int
    ) -> None:
        """Trace ``ATTRIBUTION_EPISODES`` more episodes (``episode(index)`` from ``first``)
        with ``frames``-deep tracebacks; give each site the stage of its largest traceback
        in that window."""
        import tracemalloc

        tracemalloc.start(frames)
        tracing.owns = True
        try:
            for i in range(ATTRIBUTION_EPISODES):
                await episode(first + i)
            window = live_traces(tracemalloc.take_snapshot())
        finally:
            tracing.stop()
        self.attribution_episodes = ATTRIBUTION_EPISODES
        tracing.frames = frames
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
