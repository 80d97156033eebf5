"""The verdict of a leakcheck run so far, kept as one pickled ``bytes`` (allocated on a line
of ctool, so the site table knows it as ctool's) instead of models and floats that would
show up as growing sites and types."""

from __future__ import annotations

import pickle
import sys

from ctool.analysis.leak import MIN_SAMPLES
from ctool.analysis.leak_verdict import LeakAnalysis, decide
from ctool.leak.bookkeeping import bookkeeping
from ctool.leak.config import LeakcheckOptions
from ctool.leak.samples import MemorySamples


class Verdicts:
    def __init__(self) -> None:
        self.blob: bytes | None = None

    @bookkeeping
    def judge(
        self,
        samples: MemorySamples,
        options: LeakcheckOptions,
        *,
        final: bool,
        failures: tuple[int, int],
    ) -> None:
        """The verdict on the samples so far (none with too few for a slope).
        ``failures``: (episodes that raised, episodes run)."""
        n = samples.taken
        if n < MIN_SAMPLES:
            return
        self.blob = None  # the previous one freed first
        self.blob = pickle.dumps(
            decide(
                list(samples.episode[:n]),
                list(samples.traced[:n]),
                list(samples.rss[:n]),
                options.criteria(),
                final=final,
                failures=failures,
                rss_budget=options.rss_budget(),
            )
        )

    @property
    def analysis(self) -> LeakAnalysis | None:
        analysis: LeakAnalysis | None = pickle.loads(self.blob) if self.blob else None
        return analysis

    def stops_here(self) -> bool:
        """No verdict (too few samples) or a settled one: no next round. (A bool, as
        ``not_clean``: nothing of the analysis is alive during the next count.)"""
        analysis = self.analysis
        return analysis is None or analysis.settled

    def not_clean(self) -> bool:
        """A verdict so far, and not clean. (A bool: the analysis it unpickles is gone
        before the caller counts live objects.)"""
        analysis = self.analysis
        return analysis is not None and analysis.verdict != "clean"

    def blob_bytes(self) -> int:
        return sys.getsizeof(self.blob) if self.blob is not None else 0
