"""Report schema, version 1 (docs/design.md section 8). Scripts rely on these field names.

History:
  v1 (ctool 0.1): first version. Kinds: profile, leakcheck, suite, compare; chaos added
      (an added kind, not a version bump).
  v1, extended (no field renamed, so no bump): ``ProfileReport.declared_metrics`` and
  ``neutral_settings``, ``ProfilerRun.row_shares`` / ``row_ms_per_episode`` (were free-form
  ``metadata``), ``MetricComparison.label``, ``HotspotMover.basis``. v1's typed reading
  of one pipeline's metrics group became pipeline-declared metrics; a report without
  ``declared_metrics`` is read through ``ctool.model.legacy``.

A change to a name here is a schema version bump with a loader for the old version (see
``ctool.model.io``). Adding an optional field is not.

All models ignore nothing silently: unknown fields are kept (``extra="allow"``) so a newer
minor writer does not lose data when an older reader rewrites a file.
"""

from __future__ import annotations

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
from ctool.model.chaos_schema import ChaosReport
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
from ctool.model.declared import DeclaredMetric
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


def _is_none(value: Any) -> bool:
    return value is None


def _is_empty(value: Any) -> bool:
    return not value


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
    holder: str | None = None
    """``gil``: the thread that ran while the loop thread waited for the GIL, and where."""


class StallClass(Model):
    """Stalls of one class (``cpu``, ``blocking``, ``gil``; ``?``: no sample saw it)."""

    count: int
    total_ms: float


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
    loop_stall_timing: str | None = None
    """``step``: every loop step timed, each stall's exact duration; ``heartbeat``: a late
    heartbeat's lateness (a lower bound), where steps cannot be timed."""
    loop_stalls_attributed: int | None = None
    """Stalls in which a sample named a call site (``blocking_calls``); the rest went unseen."""
    loop_stalled_attributed_ms: float | None = None
    loop_stall_classes: dict[str, StallClass] = Field(default_factory=dict)
    loop_stall_samples: Samples | None = None
    """Every stall's duration (step timing), in the order they ended."""
    loop_stall_starts: Samples | None = None
    """When each began: ``time.monotonic_ns`` of the machine (step timing)."""
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
    row_shares: list[dict[str, float]] = Field(default_factory=list, exclude_if=_is_empty)
    """A sampling backend's rows, per consecutive slice of its samples: each row's share of
    the user's time (``caller -> library function [stage]`` -> fraction). Compare's movers
    (``ctool.analysis.movers``) read it from whichever backend fills it."""
    row_ms_per_episode: list[dict[str, float]] = Field(default_factory=list, exclude_if=_is_empty)
    """The same slices in ms per episode (empty when the episodes are not known)."""

    @property
    def slices(self) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """(``row_shares``, ``row_ms_per_episode``); from ``metadata`` for reports written
        before they were typed fields (py-spy kept them there)."""
        if self.row_shares:
            return list(self.row_shares), list(self.row_ms_per_episode)
        old = [self.metadata.get(k) for k in ("row_shares", "row_ms_per_episode")]
        return tuple(  # type: ignore[return-value]
            [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []
            for found in old
        )

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
    """This slice's figure of each declared metric, by its name (``cache.hit_rate``;
    ``ctool.model.declared`` says what a slice makes of each kind), and the process's CPU
    time per episode (``cpu.ms_per_episode``). Rounds also hold every numeric metric their
    process published, flattened (all that rounds held before declarations)."""
    pid: int | None = None


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

    declared_metrics: list[DeclaredMetric] | None = Field(default=None, exclude_if=_is_none)
    """The metrics the pipeline declared (``metric_specs()``), with the run's figures;
    ``None`` (left out of the JSON): a report written before declarations."""
    neutral_settings: list[str] = Field(default_factory=list, exclude_if=_is_empty)
    """Settings the pipeline says change how it runs, not what it computes (its
    ``neutral_settings``): compare's behaviour check lets them differ."""

    @property
    def metrics_declared(self) -> list[DeclaredMetric]:
        """The declared metrics; for a report written before declarations (schema v1
        without ``declared_metrics``), those that v1 read (``ctool.model.legacy``)."""
        if self.declared_metrics is not None:
            return list(self.declared_metrics)
        from ctool.model.legacy import v1_declarations

        return v1_declarations(self.pipeline_metrics)

    @property
    def settings_neutral(self) -> list[str]:
        """The pipeline's ``neutral_settings``; for a report written before them (no
        ``declared_metrics``), the settings it published in its metrics' ``settings`` group
        (``ctool.model.legacy``)."""
        if self.neutral_settings or self.declared_metrics is not None:
            return list(self.neutral_settings)
        from ctool.model.legacy import v1_neutral_settings

        return v1_neutral_settings(self.pipeline_metrics)


AnyReport = ProfileReport | LeakcheckReport | SuiteReport | CompareReport | ChaosReport

REPORT_MODELS: dict[str, type[Report]] = {
    "profile": ProfileReport,
    "leakcheck": LeakcheckReport,
    "suite": SuiteReport,
    "compare": CompareReport,
    "chaos": ChaosReport,
}


__all__ = [
    "SCHEMA_VERSION",
    "Measure",
    "SequentialStop",
    "AnyReport",
    "BlockingCall",
    "ChaosReport",
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
    "DeclaredMetric",
    "ProfileReport",
    "ProfilerRun",
    "REPORT_MODELS",
    "Report",
    "ReportKind",
    "ReplicaRow",
    "Resources",
    "RunConfigModel",
    "Samples",
    "StallClass",
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
