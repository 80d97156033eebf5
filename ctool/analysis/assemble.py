"""A profile run's report, assembled from what it measured (docs/design.md section 3).

Pure functions over model data: ``ctool.run.runner`` drives the run, turns what it
measured into a ``MeasuredRun`` (episode records, the monitors' summary, the sampler's
figures, the profilers' results, the resolved configuration) and calls ``profile_report``.
Nothing here runs a pipeline, samples or reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ctool.analysis import checkpoints, summary
from ctool.model.records import MonitorSummary, PartRecords, merge_parts
from ctool.model.schema import (
    DeclaredMetric,
    Drift,
    Environment,
    ErrorSummary,
    HarnessCost,
    Hotspot,
    LoadLevel,
    LoadVerdict,
    ProfileReport,
    ProfilerRun,
    ReplicaRow,
    Resources,
    RunConfigModel,
    WindowStats,
)


@dataclass
class MeasuredRun:
    """Everything a profile run measured, as model data: the input of ``profile_report``."""

    config: RunConfigModel
    created_at: str
    environment: Environment
    complete: bool = True
    incomplete_reason: Literal["interrupted", "replica-failed"] | None = None
    sequential: PartRecords | None = None
    """The in-process sequential part."""
    rounds: list[PartRecords] = field(default_factory=list)
    """``--rounds R``: one part per fresh-process round."""
    workers: PartRecords | None = None
    """``--workers N``: the merged part of the worker processes."""
    scaling: list[tuple[int, float, PartRecords]] = field(default_factory=list)
    """``--workers N``: (worker count, throughput, merged part) per scaling step."""
    replicas: list[ReplicaRow] = field(default_factory=list)
    """``--workers N`` / ``--executor dask``: one row per replica (failed ones included)."""
    levels: list[tuple[int, PartRecords]] = field(default_factory=list)
    """Concurrency sweep: (concurrency, part) per level."""
    open_loop: PartRecords | None = None
    burst: PartRecords | None = None
    monitor: MonitorSummary | None = None
    """What this process's monitors saw (worker and round parts carry their own)."""
    sampled: dict[str, Any] = field(default_factory=dict)
    """The resource sampler's figures: ``Resources`` fields (CPU, RSS, timeline)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """The pipeline's metrics as read in this process at the end of the run."""
    metrics_in_process: bool = True
    """Whether the measured episodes ran in this process, so that ``metrics`` describe
    them; otherwise the headline part's own metrics (or the first round's) are reported."""
    hotspots: list[Hotspot] = field(default_factory=list)
    profilers: list[ProfilerRun] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    harness_cost: HarnessCost | None = None
    warnings: list[str] = field(default_factory=list)


def profile_report(run: MeasuredRun) -> ProfileReport:
    """The report of ``run``: headline latency, stages, load rows, resources, errors."""
    headline = headline_part(run)
    stages, bottleneck = summary.stage_table(headline)
    load, verdict = load_rows(run)
    rounds = [round_stats(part, i) for i, part in enumerate(run.rounds)]
    published = reported_metrics(run, headline)
    return ProfileReport(
        created_at=run.created_at,
        complete=run.complete,
        incomplete_reason=run.incomplete_reason,
        environment=run.environment,
        config=run.config,
        latency_ms=summary.latency_summary(summary.as_array(headline.latencies)),
        throughput_eps=summary.throughput(headline),
        errors=error_summary(run, headline),
        stages=stages,
        bottleneck=bottleneck,
        load=load,
        load_verdict=verdict,
        resources=resources(run),
        pipeline_metrics=jsonable(published),
        declared_metrics=declared_figures(headline, published),
        neutral_settings=list(headline.neutral_settings),
        hotspots=run.hotspots,
        profilers=run.profilers,
        artifacts=run.artifacts,
        output_digest=headline.digest,
        batches=summary.batches(headline),
        rounds=rounds,
        drift=summary.drift(headline) if headline.label != "load" else None,
        scaling=summary.scaling_rows(run.scaling) if run.workers is not None else [],
        replicas=list(run.replicas),
        harness_cost=run.harness_cost,
        duration_s=headline.wall_ns / 1e9 if headline.wall_ns else None,
        warnings=[*run.warnings, *round_warnings(run.rounds)],
    )


def load_parts(run: MeasuredRun) -> list[PartRecords]:
    """The parts of the load shapes, in the order they ran."""
    parts = [part for _, part in run.levels]
    parts += [p for p in (run.open_loop, run.burst) if p is not None]
    return parts


def headline_part(run: MeasuredRun) -> PartRecords:
    """The part behind the headline figures: the sequential part (in process, rounds or
    workers), else all load shapes merged (label ``load``), else an empty part."""
    if run.sequential is not None:
        return run.sequential
    if run.rounds:
        merged = merge_parts("rounds", run.rounds)
        merged.digest = run.rounds[0].digest
        return merged
    if run.workers is not None:
        return run.workers
    load = load_parts(run)
    if load:
        merged = merge_parts("load", load)
        merged.digest = None
        return merged
    return PartRecords("none")


def error_summary(run: MeasuredRun, headline: PartRecords) -> ErrorSummary:
    """Errors of the whole run: the headline part and every load shape."""
    parts = [headline, *load_parts(run)] if headline.label != "load" else [headline]
    combined = merge_parts("errors", parts) if len(parts) > 1 else headline
    return summary.error_summary(combined)


def monitor_summary(run: MeasuredRun) -> MonitorSummary:
    """This process's monitors merged with those of the rounds and worker processes."""
    monitor = MonitorSummary()
    if run.monitor is not None:
        monitor.merge(run.monitor)
    for part in run.rounds + ([run.workers] if run.workers is not None else []):
        if part.monitor is not None:
            monitor.merge(part.monitor)
    return monitor


def resources(run: MeasuredRun) -> Resources:
    """The sampler's figures with GC pauses, loop lag and blocking calls added."""
    import numpy as np

    monitor = monitor_summary(run)
    lags = summary.as_array(monitor.lag_ns)
    watched = (run.config.block_threshold_ms or 0) > 0
    return Resources(
        **run.sampled,
        gc_pause_ms_total=monitor.gc_pause_ns / 1e6,
        gc_collections=monitor.gc_collections,
        loop_lag_ms_max=float(lags.max()) / 1e6 if lags.size else None,
        loop_lag_ms_p99=float(np.percentile(lags, 99)) / 1e6 if lags.size else None,
        loop_stalls=monitor.stalls if watched else None,
        loop_stalled_ms=monitor.stalled_ns / 1e6 if watched else None,
        blocking_calls=summary.blocking_calls(monitor),
        **(summary.stall_fields(monitor) if watched else {}),
    )


def load_rows(run: MeasuredRun) -> tuple[list[LoadLevel], LoadVerdict | None]:
    """One row per load shape, and the concurrency sweep's knee / cliff verdict."""
    rows = [summary.load_level(part, concurrency=c) for c, part in run.levels]
    verdict = summary.load_verdict(rows)
    if run.open_loop is not None:
        rows.append(
            summary.load_level(
                run.open_loop,
                rate=run.config.rate,
                label=run.open_loop.label,
                extra={**run.open_loop.extra, "drift": _dumped(summary.drift(run.open_loop))},
            )
        )
    if run.burst is not None:
        rows.append(
            summary.load_level(run.burst, label=run.burst.label, extra=dict(run.burst.extra))
        )
    return rows, verdict


def round_warnings(rounds: list[PartRecords]) -> list[str]:
    """A warning when fresh-process rounds disagree on the output digest."""
    digests = {part.digest for part in rounds}
    if len(digests) > 1:
        return [
            f"the output digest differs between rounds ({len(digests)} distinct): "
            "the pipeline is not deterministic for a given seed and settings"
        ]
    return []


def round_stats(part: PartRecords, index: int) -> WindowStats:
    """A round's window: everything its process's ``metrics()`` published (flattened), with
    CPU per episode and the declared metrics over its episodes (from its checkpoints) on
    top."""
    measured = checkpoints.window_values(part.checkpoints, part.declared, 0, part.ok)
    metrics = {**summary.flat_metrics(part.metrics), **measured}
    return summary.window_stats(part, index, pid=part.pid, metrics=metrics)


def declared_figures(headline: PartRecords, published: dict[str, Any]) -> list[DeclaredMetric]:
    """The pipeline's declarations with the run's figures (``analysis.checkpoints``)."""
    flat = summary.flat_metrics(published)
    return checkpoints.run_figures(headline.declared, flat, headline.checkpoints)


def reported_metrics(run: MeasuredRun, headline: PartRecords) -> dict[str, Any]:
    """The pipeline metrics that describe the measured episodes."""
    if run.metrics_in_process:
        return run.metrics
    return headline.metrics or (run.rounds[0].metrics if run.rounds else {})


def jsonable(value: Any) -> Any:
    """Pipeline-provided dicts may hold numpy scalars, tuples, sets: make them plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _dumped(drift: Drift | None) -> dict[str, Any] | None:
    """A load row's ``extra`` is free-form JSON: the drift goes in as its plain form."""
    return None if drift is None else drift.model_dump()
