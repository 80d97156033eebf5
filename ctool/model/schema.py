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

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ctool.model.version import __version__

SCHEMA_VERSION = 1


def now_iso() -> str:
    """A report's creation time: UTC, ISO 8601, to the second."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


ReportKind = Literal["profile", "leakcheck", "suite", "compare"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Environment(_Model):
    python: str
    implementation: str
    platform: str
    cpu_model: str
    cpu_count: int
    hostname: str


class RunConfigModel(_Model):
    """What was asked for. ``settings`` holds ``--set`` values (and the preset's resolution)."""

    pipeline: str
    preset: str | None = None
    seed: int | None = None
    episodes: int | None = None
    warmup: int = 0
    concurrency: list[int] | None = None
    rate: float | None = None
    duration_s: float | None = None
    burst: int | None = None
    workers: int = 1
    rounds: int = 1
    profilers: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    command: str | None = None
    block_threshold_ms: float | None = None
    """Event-loop stalls at least this long are attributed to a call site (0: watchdog off)."""


class Samples(_Model):
    """Raw values, lossless; see ``ctool.model.samples`` for the encoding."""

    encoding: str
    count: int = Field(ge=0)
    data: str


class LatencySummary(_Model):
    count: int = Field(ge=0)
    mean: float
    stdev: float
    min: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float
    samples: Samples | None = None

    @field_validator("mean", "stdev", "min", "p50", "p90", "p95", "p99", "p999", "max")
    @classmethod
    def _finite_non_negative(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError("latencies must be finite and non-negative")
        return value


class ErrorSample(_Model):
    episode: int
    type: str
    message: str
    stack: str = ""


class ErrorSummary(_Model):
    count: int = 0
    rate: float = 0.0
    samples: list[ErrorSample] = Field(default_factory=list)
    by_type: dict[str, int] = Field(default_factory=dict)


class StageStats(_Model):
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


class LoadLevel(_Model):
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
    extra: dict[str, Any] = Field(default_factory=dict)


class BlockingCall(_Model):
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


class Resources(_Model):
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


class Hotspot(_Model):
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


class ProfilerRun(_Model):
    """What one profiler backend contributed besides hotspot rows."""

    name: str
    ok: bool = True
    reason: str | None = None
    overhead_ratio: float | None = None
    """Episode time with the profiler / without it, from an interleaved calibration."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class WindowStats(_Model):
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


class Report(_Model):
    schema_version: int = SCHEMA_VERSION
    kind: ReportKind
    ctool_version: str = __version__
    created_at: str
    complete: bool = True
    environment: Environment
    config: RunConfigModel


class PhiMetrics(_Model):
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


DriftVerdict = Literal["stable", "slower over time", "faster over time"]
LoadVerdictKind = Literal["knee", "cliff", "scales"]


class DriftWindow(_Model):
    """One equal slice of a part's time span."""

    index: int
    t_s: float
    """Start of the window, seconds from the part's start."""
    episodes: int
    mean_ms: float
    p50_ms: float
    p95_ms: float


class Drift(_Model):
    """First against last window of a run: is the pipeline slowing down (or speeding up)?"""

    windows: list[DriftWindow] = Field(default_factory=list)
    first_p50_ms: float
    last_p50_ms: float
    p50_change_pct: float
    p_value: float
    verdict: DriftVerdict


class LoadVerdict(_Model):
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


class ScalingRow(_Model):
    """``--workers``: throughput with k workers and its efficiency against k times one."""

    workers: int
    episodes: int
    throughput_eps: float
    efficiency: float | None = None
    p50_ms: float
    p99_ms: float


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
    bottleneck: str | None = None
    """The top-level stage with the largest share of episode time."""
    load_verdict: LoadVerdict | None = None
    """Concurrency sweep: knee / cliff verdict (latency growth against load growth)."""
    duration_s: float | None = None
    """Wall time of the measured part behind ``latency_ms``."""
    warnings: list[str] = Field(default_factory=list)

    @property
    def phi(self) -> PhiMetrics | None:
        """The pipeline's Φ metrics, typed (``None`` when it publishes none)."""
        return PhiMetrics.read(self.pipeline_metrics)


class LeakSample(_Model):
    episode: int
    traced_bytes: int
    rss_bytes: int
    objects: int | None = None


class LeakSite(_Model):
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


class TypeGrowth(_Model):
    type: str
    start: int
    end: int
    growth: int
    per_episode: float


class SlopeFit(_Model):
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


class ScenarioResult(_Model):
    id: int
    name: str
    title: str
    status: Literal["pass", "fail", "skipped", "error"]
    measured: Any = None
    target: Any = None
    unit: str | None = None
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = None


class SuiteReport(Report):
    kind: Literal["suite"] = "suite"
    quick: bool = False
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    targets: dict[str, float] = Field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    skipped: int = 0


Verdict = Literal[
    "faster",
    "slower",
    "no significant change",
    "within noise",
    "inconclusive",
    "better",
    "worse",
    "same",
]
"""The verdict of one compared metric (``ctool.analysis.statistics.classify`` defines them)."""


class MetricComparison(_Model):
    metric: str
    """e.g. ``latency.p50``, ``stage.ESGT.p95``, ``throughput``, ``phi.hit_rate``."""
    before: float | None
    after: float | None
    ratio: float | None
    """after / before."""
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    verdict: Verdict
    lower_is_better: bool = True
    method: str = ""
    gated: bool = False
    unit: str | None = None
    """``ms``, ``episodes/s``, ``MB``, ``ms/episode`` or ``None`` for a plain number."""
    n_before: int | None = None
    """Windows (rounds, batches) or paired rounds the test used on each side."""
    n_after: int | None = None
    note: str = ""
    """Why a verdict is inconclusive, or how a value was derived."""


HotspotChangeKind = Literal["appeared", "vanished", "grew", "shrank"]


class HotspotChange(_Model):
    """A function whose share of its profiler's time moved between the two runs."""

    change: HotspotChangeKind
    """``appeared`` / ``vanished``: entered or left the (top-N) hotspot list."""
    profiler: str
    function: str
    file: str
    line: int
    share_before: float
    """Share of the profiler's time in the first run (0 when not listed there)."""
    share_after: float
    """Share of the profiler's time in the second run (0 when not listed there)."""


class EnvironmentDiffRow(_Model):
    """An environment field, run setting or ``--set`` value that differs between the runs:
    the values as the reports hold them (``None`` where a side lacks the setting)."""

    field: str
    """``environment.NAME``, ``config.NAME`` or ``settings.KEY``."""
    before: Any
    after: Any


class CompareReport(Report):
    kind: Literal["compare"] = "compare"
    before: str
    after: str
    mode: Literal["rounds", "batches", "ab"]
    blind_to_drift: bool
    threshold: float
    alpha: float = 0.05
    metrics: list[MetricComparison] = Field(default_factory=list)
    hotspots: list[HotspotChange] = Field(default_factory=list)
    """Hotspots that changed, largest move first."""
    environment_diff: list[EnvironmentDiffRow] = Field(default_factory=list)
    behaviour: Literal["outputs identical", "outputs changed", "not comparable"]
    behaviour_detail: str = ""
    regressions: list[str] = Field(default_factory=list)
    """Gated metrics significantly worse beyond the threshold (``--fail-on-regression``)."""
    changes: list[str] = Field(default_factory=list)
    """Gated metrics significantly different beyond the threshold (``--fail-on-change``)."""
    gate: list[str] = Field(default_factory=list)
    """The ``--gate`` entries the gated metrics were picked by."""
    warnings: list[str] = Field(default_factory=list)
    windows: dict[str, dict[str, list[float]]] = Field(default_factory=dict)
    """The per-window values each test used: ``{metric: {"before": [...], "after": [...]}}``
    (per round in modes rounds and ab, per batch in mode batches)."""


AnyReport = ProfileReport | LeakcheckReport | SuiteReport | CompareReport

REPORT_MODELS: dict[str, type[Report]] = {
    "profile": ProfileReport,
    "leakcheck": LeakcheckReport,
    "suite": SuiteReport,
    "compare": CompareReport,
}
