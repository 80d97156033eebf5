"""Report schema, version 1 (docs/design.md section 8). Scripts rely on these field names.

History:
  v1 (ctool 0.1): first version. Kinds: profile, leakcheck, suite, compare.

A change to a name here is a schema version bump with a loader for the old version (see
``ctool.model.io``). Adding an optional field is not.

All models ignore nothing silently: unknown fields are kept (``extra="allow"``) so a newer
minor writer does not lose data when an older reader rewrites a file.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from ctool.model.base import (
    SCHEMA_VERSION,
    Environment,
    ErrorSample,
    ErrorSummary,
    LatencySummary,
    Model,
    Report,
    ReportKind,
    RunConfigModel,
    Samples,
    now_iso,
)
from ctool.model.compare_schema import (
    CompareReport,
    EnvironmentDiffRow,
    HotspotChange,
    HotspotChangeKind,
    HotspotMover,
    Measure,
    MetricComparison,
    SequentialStop,
    Verdict,
)
from ctool.model.leak_schema import (
    LeakBudget,
    LeakcheckReport,
    LeakSample,
    LeakSite,
    LeakVerdict,
    Plateau,
    Projection,
    SlopeFit,
    TypeGrowth,
)
from ctool.model.suite_schema import ScenarioResult, SuiteReport


class StageStats(Model):
    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    share: float
    """Fraction of total episode time (top-level stages and "(between stages)" sum to 1)."""
    depth: int = 0
    parent: str | None = None
    episodes: int | None = None
    """Episodes in which the stage ran (``count`` counts span occurrences)."""


class LoadLevel(Model):
    """One row of a load curve: a concurrency level, an arrival rate, a burst or a window."""

    concurrency: int | None = None
    rate: float | None = None
    label: str | None = None
    episodes: int = 0
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    throughput_eps: float
    errors: int = 0
    queue_depth_max: int | None = None
    slice_throughput_eps: list[float] = Field(default_factory=list)
    """Throughput in each equal time slice of the level (episodes completed per second):
    the spread the load verdict's intervals come from. Empty in reports before it."""
    extra: dict[str, Any] = Field(default_factory=dict)


class BlockingCall(Model):
    """A call site seen blocking the event loop by the watchdog."""

    function: str
    file: str
    line: int
    count: int
    total_ms: float
    max_ms: float
    stage: str | None = None
    kind: str | None = None
    """``blocking``: the loop thread waited off-CPU (sleep, I/O, lock); ``cpu``: it computed."""
    callee: str | None = None
    """The innermost (library) frame, e.g. ``psutil.cpu_percent``, when it is not the site."""
    stack: list[str] = Field(default_factory=list)
    """A few frames, innermost first: ``file:line in function``."""


class Resources(Model):
    cpu_percent_mean: float | None = None
    """Process CPU, percent of one core (can exceed 100 with threads or workers)."""
    cpu_percent_max: float | None = None
    cpu_percent_total_mean: float | None = None
    """Process CPU as a percent of the whole machine (all cores)."""
    rss_mb_start: float | None = None
    rss_mb_end: float | None = None
    rss_mb_peak: float | None = None
    gc_pause_ms_total: float | None = None
    gc_collections: int | None = None
    loop_lag_ms_max: float | None = None
    loop_lag_ms_p99: float | None = None
    loop_stalls: int | None = None
    """Times the event loop fell behind by at least the block threshold (every one counted)."""
    loop_stalled_ms: float | None = None
    blocking_calls: list[BlockingCall] = Field(default_factory=list)
    timeline: list[dict[str, float]] = Field(default_factory=list)
    """Sampler points: t_s, cpu_percent, rss_mb, queue_depth, loop_lag_ms."""


class Hotspot(Model):
    profiler: str
    function: str
    file: str
    line: int
    calls: int | None = None
    self_ms: float | None = None
    cumulative_ms: float | None = None
    share: float | None = None
    stage: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class ProfilerRun(Model):
    """What one profiler backend contributed besides hotspot rows."""

    name: str
    ok: bool = True
    reason: str | None = None
    overhead_ratio: float | None = None
    """Episode time with the profiler / without it, from an interleaved calibration."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def overhead_interval(self) -> tuple[float, float] | None:
        """The calibration's 95 % bootstrap interval of :attr:`overhead_ratio`, if any."""
        found = self.metadata.get("calibration", {}).get("ratio_interval")
        if isinstance(found, list | tuple) and len(found) == 2:
            return float(found[0]), float(found[1])
        return None

    @property
    def overhead_label(self) -> str:
        """``x1.42 [1.30, 1.55]`` or ``below noise [lo, hi]`` (``ctool.model.format``)."""
        from ctool.model.format import overhead

        return overhead(self.overhead_ratio, self.overhead_interval)


class WindowStats(Model):
    """Summary of a slice of a run: a round (fresh process), a batch or a drift window."""

    index: int
    episodes: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    throughput_eps: float | None = None
    stages: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Per stage: mean_ms, p50_ms, p95_ms."""
    metrics: dict[str, float] = Field(default_factory=dict)
    """Flat numeric pipeline metrics of this slice, e.g. ``phi.p95_ms``."""
    pid: int | None = None


class PhiMetrics(Model):
    """The Φ figures a pipeline may publish as ``metrics()["phi"]`` (the reference one does).

    ``pipeline_metrics`` stays free-form; this is the typed reading of its ``phi`` entry that
    compare, the suite and the renderers share (:attr:`ProfileReport.phi`). Every field is
    optional, and a value that is not a number reads as missing.
    """

    p50_ms: float | None = None
    p95_ms: float | None = None
    miss_p50_ms: float | None = None
    miss_p95_ms: float | None = None
    cache_hits: float | None = None
    cache_misses: float | None = None
    hit_rate: float | None = None

    @classmethod
    def read(cls, metrics: Any) -> PhiMetrics | None:
        """``metrics["phi"]`` typed, or ``None`` when the pipeline publishes no Φ."""
        phi = metrics.get("phi") if isinstance(metrics, dict) else None
        if not isinstance(phi, dict):
            return None
        numbers = {
            name: float(value)
            for name, value in phi.items()
            if name in cls.model_fields
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        }
        return cls(**numbers)


DriftVerdict = Literal["stable", "slower over time", "faster over time", "inconclusive"]
LoadVerdictKind = Literal["knee", "cliff", "scales", "inconclusive"]


class DriftWindow(Model):
    """One equal slice of a part's time span."""

    index: int
    t_s: float
    """Start of the window, seconds from the part's start."""
    episodes: int
    mean_ms: float
    p50_ms: float
    p95_ms: float


class Drift(Model):
    """First against last window of a run: is the pipeline slowing down (or speeding up)?"""

    windows: list[DriftWindow] = Field(default_factory=list)
    first_p50_ms: float
    last_p50_ms: float
    p50_change_pct: float
    p_value: float
    verdict: DriftVerdict
    change_low_pct: float | None = None
    change_high_pct: float | None = None
    """Interval of the change (block bootstrap); the verdict rests on it. ``None`` in
    reports written before it, whose verdict rested on ``p_value``."""
    threshold_pct: float | None = None
    confidence: float | None = None


class LoadVerdict(Model):
    """Knee and cliff of a closed-loop concurrency sweep (docs/design.md section 6)."""

    verdict: LoadVerdictKind
    knee_concurrency: int | None = None
    cliff_concurrency: int | None = None
    peak_throughput_eps: float
    peak_concurrency: int | None = None
    latency_growth: float | None = None
    """Mean latency at the top level over the first (``None``: not finite)."""
    load_growth: float
    detail: str
    cliff_drop: float | None = None
    """The fall of throughput below the peak that makes a cliff (0.2: 20 %)."""
    confidence: float | None = None


class ScalingRow(Model):
    """``--workers``: throughput with k workers and its efficiency against k times one."""

    workers: int
    episodes: int
    throughput_eps: float
    efficiency: float | None = None
    p50_ms: float
    p99_ms: float


class ReplicaRow(Model):
    """One replica of a replicated run (``--workers``, ``--executor dask``): where it ran, what
    it measured in the headline step (on its own clock), and whether it failed."""

    index: int
    host: str
    pid: int
    address: str | None = None
    """The Dask worker's address, or ``local pid N`` for a local worker process."""
    episodes: int = 0
    errors: int = 0
    throughput_eps: float | None = None
    python: str | None = None
    ctool: str | None = None
    pipeline_hash: str | None = None
    """SHA-256 prefix of the pipeline module's source files, as the replica found them."""
    failed: str | None = None
    """Why the replica failed (it died, its worker left); ``None``: it did not."""


class HarnessCost(Model):
    """What the harness itself costs per episode on this machine (``ctool.run.cost``):
    the floor under every measured episode."""

    span_ns: float
    """One recorded span (enter and exit)."""
    bookkeeping_us: float
    """Everything else the harness does per episode: the recorder, stage aggregation, the
    output digest (deferred hashing included), observers when there are none."""
    empty_episode_us: float
    """An empty pipeline's episode with two spans, through the harness."""
    episodes: int
    """Calibration episodes per variant."""

    def floor_us(self, spans_per_episode: float) -> float:
        """The harness's cost for an episode with this many spans."""
        return self.bookkeeping_us + spans_per_episode * self.span_ns / 1e3


class ProfileReport(Report):
    kind: Literal["profile"] = "profile"
    latency_ms: LatencySummary
    throughput_eps: float
    errors: ErrorSummary = Field(default_factory=ErrorSummary)
    stages: dict[str, StageStats] = Field(default_factory=dict)
    load: list[LoadLevel] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    pipeline_metrics: dict[str, Any] = Field(default_factory=dict)
    hotspots: list[Hotspot] = Field(default_factory=list)
    profilers: list[ProfilerRun] = Field(default_factory=list)
    artifacts: dict[str, str] = Field(default_factory=dict)
    output_digest: str | None = None
    batches: list[WindowStats] = Field(default_factory=list)
    """Consecutive batches of the sequential part (for compare without rounds)."""
    rounds: list[WindowStats] = Field(default_factory=list)
    """One entry per fresh-process round (``--rounds R``)."""
    drift: Drift | None = None
    scaling: list[ScalingRow] = Field(default_factory=list)
    """``--workers``: one row per worker count."""
    replicas: list[ReplicaRow] = Field(default_factory=list)
    """``--workers`` / ``--executor dask``: one row per replica."""
    incomplete_reason: Literal["interrupted", "replica-failed"] | None = None
    """Why ``complete`` is false: the run was interrupted, or a replica failed."""
    bottleneck: str | None = None
    """The top-level stage with the largest share of episode time."""
    load_verdict: LoadVerdict | None = None
    """Concurrency sweep: knee / cliff verdict (latency growth against load growth)."""
    duration_s: float | None = None
    """Wall time of the measured part behind ``latency_ms``."""
    warnings: list[str] = Field(default_factory=list)
    harness_cost: HarnessCost | None = None
    """The harness's own per-episode cost, calibrated after the run."""

    @property
    def phi(self) -> PhiMetrics | None:
        """The pipeline's Φ metrics, typed (``None`` when it publishes none)."""
        return PhiMetrics.read(self.pipeline_metrics)


AnyReport = ProfileReport | LeakcheckReport | SuiteReport | CompareReport

REPORT_MODELS: dict[str, type[Report]] = {
    "profile": ProfileReport,
    "leakcheck": LeakcheckReport,
    "suite": SuiteReport,
    "compare": CompareReport,
}


__all__ = [
    "SCHEMA_VERSION",
    "Measure",
    "SequentialStop",
    "AnyReport",
    "BlockingCall",
    "CompareReport",
    "Drift",
    "DriftVerdict",
    "DriftWindow",
    "Environment",
    "EnvironmentDiffRow",
    "ErrorSample",
    "ErrorSummary",
    "HarnessCost",
    "Hotspot",
    "HotspotChange",
    "HotspotChangeKind",
    "HotspotMover",
    "LatencySummary",
    "LeakSample",
    "LeakSite",
    "LeakVerdict",
    "LeakcheckReport",
    "LoadLevel",
    "LoadVerdict",
    "LoadVerdictKind",
    "MetricComparison",
    "Model",
    "PhiMetrics",
    "ProfileReport",
    "ProfilerRun",
    "REPORT_MODELS",
    "Report",
    "ReportKind",
    "ReplicaRow",
    "Resources",
    "RunConfigModel",
    "Samples",
    "ScalingRow",
    "ScenarioResult",
    "SlopeFit",
    "StageStats",
    "SuiteReport",
    "TypeGrowth",
    "LeakBudget",
    "Plateau",
    "Projection",
    "Verdict",
    "WindowStats",
    "now_iso",
]
