"""The engine that traces retained memory during a leakcheck: tracemalloc (one frame per
traceback while measuring; a start snapshot diffed at the end) or memray
(``ctool.leak.memray``). Started after the pipeline is built, stopped once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctool.analysis.leak import RawSite
from ctool.leak.bookkeeping import bookkeeping, inside_driver, is_own_trace
from ctool.leak.heap import decode_sites, encode_sites, growth_since
from ctool.leak.memray import MemrayTracking

if TYPE_CHECKING:
    import tracemalloc

MEASURE_FRAMES = 1
"""tracemalloc traceback depth during warm-up and the measured part."""


class Tracing:
    """Retained memory: what is traced now, and the sites that grew since the start."""

    def __init__(self, memray: MemrayTracking | None) -> None:
        self.memray = memray
        self.owns = False
        """ctool started tracemalloc (and stops it); else someone traces already."""
        self.start_snapshot: tracemalloc.Snapshot | None = None
        self.snapshot_bytes = 0
        """The start snapshot's own size: a constant, not the pipeline's."""
        self.raw_sites_blob = b""
        self.frames = MEASURE_FRAMES
        """Traceback depth the sites were found at (0: memray's whole stacks)."""

    def start(self) -> None:
        import tracemalloc

        if self.memray is None:
            self.owns = not tracemalloc.is_tracing()
            if self.owns:
                tracemalloc.start(MEASURE_FRAMES)
            # else: PYTHONTRACEMALLOC (or the caller) traces already, at its own depth.
        self.frames = 0 if self.memray else tracemalloc.get_traceback_limit()

    @bookkeeping
    def snapshot(self) -> None:
        """The start snapshot (tracemalloc), kept unchanged all run."""
        import tracemalloc

        if self.memray is None:
            before = tracemalloc.get_traced_memory()[0]
            self.start_snapshot = tracemalloc.take_snapshot()
            self.snapshot_bytes = tracemalloc.get_traced_memory()[0] - before

    @staticmethod
    def traced() -> int:
        import tracemalloc

        return tracemalloc.get_traced_memory()[0]

    @bookkeeping
    def keep_growth(self) -> None:
        """The growth since the start snapshot, kept as one bytes object (not thousands of
        tuples that would count as growth); the snapshot is dropped."""
        if self.start_snapshot is not None:
            self.raw_sites_blob = encode_sites(growth_since(self.start_snapshot))
            self.start_snapshot = None

    @bookkeeping
    def grown_sites(self) -> list[RawSite]:
        """The pipeline's sites that grew (ctool's own left out), stacks cut at the driver."""
        found = (
            decode_sites(self.raw_sites_blob)
            if self.memray is None
            else self.memray.sites(keep=lambda frames: not is_own_trace(frames))
        )
        return [
            RawSite(inside_driver(site.frames), site.size_diff, site.count_diff)
            for site in found
            if not is_own_trace(site.frames)
        ]

    def stop(self) -> None:
        import tracemalloc

        if self.owns:
            tracemalloc.stop()
            self.owns = False

    def close(self) -> None:
        self.start_snapshot = None
        self.stop()
        if self.memray is not None:
            self.memray.close()
