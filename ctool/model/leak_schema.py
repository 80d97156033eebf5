"""The leakcheck report (docs/design.md section 8)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ctool.model.base import ErrorSummary, LatencySummary, Model, Report


class LeakSample(Model):
    episode: int
    traced_bytes: int
    rss_bytes: int
    objects: int | None = None


class LeakSite(Model):
    file: str
    line: int
    function: str | None = None
    stage: str | None = None
    size_diff_bytes: int
    count_diff: int
    bytes_per_episode: float
    traceback: list[str] = Field(default_factory=list)
    """``file:line``, innermost first, ctool's own and event-loop frames left out."""
    code: str | None = None
    """The source line."""


class TypeGrowth(Model):
    type: str
    start: int
    end: int
    growth: int
    per_episode: float


class SlopeFit(Model):
    slope: float
    """Bytes per episode (Theil-Sen)."""
    ci_low: float
    ci_high: float
    intercept: float
    growth_pct: float
    """Growth over the measured episodes, as a percent of the first sample."""
    growth_bytes: float | None = None
    """Slope times the episodes spanned: the fitted growth over the measured part."""
    first_bytes: float | None = None
    """The first sample, the base of ``growth_pct``."""
    episodes_spanned: float | None = None
    samples: int | None = None
    """How many samples the fit used."""
    growth_pct_of_rss: float | None = None
    """The growth as a percent of the process's RSS at the first sample: how much the
    process grew, whatever the base of ``growth_pct``."""


LeakVerdict = Literal["leak", "clean", "inconclusive"]
"""The verdict of a leak check (``ctool.analysis.leak`` defines them)."""


class LeakcheckReport(Report):
    kind: Literal["leakcheck"] = "leakcheck"
    episodes: int
    warmup: int
    every: int
    threshold_bytes_per_episode: float
    growth_floor_pct: float
    verdict: LeakVerdict
    reason: str
    traced: SlopeFit
    rss: SlopeFit
    samples: list[LeakSample] = Field(default_factory=list)
    sites: list[LeakSite] = Field(default_factory=list)
    types: list[TypeGrowth] = Field(default_factory=list)
    latency_ms: LatencySummary | None = None
    duration_s: float | None = None
    traced_late: SlopeFit | None = None
    """The trend over the last third of the samples (does growth go on or level off?)."""
    rss_late: SlopeFit | None = None
    errors: ErrorSummary = Field(default_factory=ErrorSummary)
    traceback_frames: int | None = None
    """Deepest tracemalloc traceback used: 1 for the measured part; the attribution
    window's depth when one ran."""
    attribution_episodes: int | None = None
    """Extra episodes traced with deep tracebacks to find the stage of each site (0: none)."""
    confidence: float | None = None
    """Confidence level of the slope intervals (0.95)."""
