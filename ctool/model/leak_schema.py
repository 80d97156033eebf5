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
    per_episode_early: float | None = None
    """Growth per episode before the last round (start of the run to its last extension)."""
    per_episode_late: float | None = None
    """Growth per episode over the last round."""
    steady: bool | None = None
    """Grew by about the same count per episode in both parts: object evidence of a leak."""
    site: str | None = None
    """``file:line`` where most of the sampled new objects of this type were allocated."""
    stage: str | None = None


class Plateau(Model):
    """Where growth that stopped stopped: the level of the last window and when it was
    first reached (95 % of the rise)."""

    bytes: float
    """The level, as traced memory above the measured part's start."""
    growth_bytes: float
    """The rise from the first sample to the level."""
    episode: int
    """The first sampled episode at 95 % of the rise."""


class Projection(Model):
    """What a growth rate means over a long service life."""

    bytes_per_episode: float
    bytes_per_million_episodes: float
    episodes_per_s: float | None = None
    """Measured episode rate of this run (under tracing: slower than production)."""
    seconds_to_10pct_rss: float | None = None
    """At that rate, until the process's RSS has grown by 10 %."""


class LeakBudget(Model):
    """What the sequential run was allowed, and what it used."""

    first_round: int
    max_episodes: int
    max_seconds: float
    horizon: int
    resolution: float
    rounds: list[int] = Field(default_factory=list)
    """Measured episodes at the end of each round."""
    exhausted: bool = False
    """The run stopped on its budget, not because the answer was settled."""
    max_rss: int | None = None
    """The memory budget, bytes of RSS (``--max-rss``); ``None`` in reports before it."""


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
    engine: str = "tracemalloc"
    """What measured retained memory: ``tracemalloc`` or ``memray`` (native included)."""
    growth: str | None = None
    """``steady``, ``stopped``, ``none``, ``slowing`` or ``unsettled`` (docs/leakcheck.md)."""
    plateau: Plateau | None = None
    detection_limit_bytes_per_episode: float | None = None
    """Steady growth below this over the last window would not have been seen."""
    detection_window_episodes: float | None = None
    projection: Projection | None = None
    budget: LeakBudget | None = None
    rss_beyond_traced_bytes_per_episode: float | None = None
    """RSS slope minus traced slope when RSS grew and traced memory did not keep up: memory
    outside what the engine traces."""
    evidence: list[str] = Field(default_factory=list)
    """Object evidence: types whose count grew steadily, with the site that makes them."""
