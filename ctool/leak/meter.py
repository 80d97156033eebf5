"""The heap meter of a leakcheck run: the start of the measured part, a sample every
``every`` episodes (``gc.collect()``, retained bytes, RSS, live objects), the verdict after
each round, the object census, the end. Everything it keeps between samples is ctool's
own and subtracted (``own_bytes``); every step is ``@bookkeeping``."""

from __future__ import annotations

import gc

from ctool.leak.bookkeeping import bookkeeping
from ctool.leak.census import Census, GcFreeze
from ctool.leak.config import LeakcheckOptions
from ctool.leak.heap import RSSReader
from ctool.leak.memray import MemrayTracking
from ctool.leak.samples import MemorySamples
from ctool.leak.tracing import Tracing
from ctool.leak.verdicts import Verdicts


class HeapMeter:
    def __init__(self, options: LeakcheckOptions, memray: MemrayTracking | None) -> None:
        self.options = options
        self.samples = MemorySamples(options)
        self.tracing = Tracing(memray)
        self.freeze = GcFreeze()
        self.census = Census()
        self.verdicts = Verdicts()
        self.rss = RSSReader()
        self.own_bytes = 0
        """Traced bytes ctool keeps between samples (verdict, type counts): subtracted."""
        self.replayed = 0
        """Samples whose retained bytes came from memray's files so far."""

    def judge(self, *, final: bool, failures: tuple[int, int]) -> None:
        """The verdict on the samples so far; what it keeps is ctool's, not growth."""
        self.verdicts.judge(self.samples, self.options, final=final, failures=failures)
        self.own_bytes = self.verdicts.blob_bytes() + self.census.blob_bytes()

    def own_tables(self) -> tuple[object, ...]:
        """ctool's own containers alive during a count (the verdict and type-count blobs,
        memray's tables), for the count to leave out."""
        blobs = tuple(b for b in (self.verdicts.blob, self.census.mid_blob) if b is not None)
        memray = self.tracing.memray
        return blobs + (() if memray is None else memray.containers())

    def next_round(self, done: int) -> None:
        """Between rounds: live objects counted by type (the object evidence), and a new
        memray round."""
        self.freeze.release()
        self.census.mid_blob = None
        self.census.count_mid(done, self.own_tables)
        self.freeze.freeze()
        self.own_bytes = self.verdicts.blob_bytes() + self.census.blob_bytes()
        if self.tracing.memray is not None:
            self.tracing.memray.start_round()

    def collect_memray(self) -> None:
        """memray: close the round's Tracker and fill in the retained bytes of its samples
        from its file (``ctool.leak.memray``)."""
        memray = self.tracing.memray
        if memray is None:
            return
        marks = memray.end_round()
        for value in marks[: self.samples.taken - self.replayed]:
            self.samples.traced[self.replayed] = value
            self.replayed += 1

    @bookkeeping
    def begin(self) -> None:
        gc.collect()
        # Counted before the snapshot: what counting allocates (its Counter, ABC caches, the
        # thread's bookkeeping) is then in both snapshots, not growth. The end count runs
        # after the start snapshot is gone, so neither count sees it.
        self.census.count_start()
        self.tracing.snapshot()
        gc.collect()
        self.freeze.freeze()  # later collections walk only what the episodes made
        if self.tracing.memray is not None:
            self.tracing.memray.start_round()
        self.sample(0)

    @bookkeeping
    def sample(self, done: int) -> None:
        gc.collect()
        traced = self.tracing.traced() - self.tracing.snapshot_bytes - self.own_bytes
        self.samples.take(done, traced, self.rss.read(), self.freeze.live_objects())
        if self.tracing.memray is not None:
            self.tracing.memray.checkpoint()

    @bookkeeping
    def end(self) -> None:
        tracing = self.tracing
        tracing.keep_growth()
        self.freeze.release()
        gc.collect()
        if tracing.owns and self.verdicts.not_clean():
            self.census.count_end_traced(self.own_tables, self.options.top)
            tracing.stop()
            return
        tracing.stop()
        gc.collect()
        self.census.count_end(self.own_tables)

    def close(self) -> None:
        """Whatever happened: gc unfrozen, tracing stopped, files closed."""
        self.freeze.release()
        self.tracing.close()
        self.rss.close()
