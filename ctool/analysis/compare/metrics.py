"""Metric values: what each row compares, from a whole report or from one window of it.

The metric names (``latency.p50``, ``stage.ESGT.p95``, ``pipeline.cache.hit_rate``, ...)
are the row names of a :class:`~ctool.model.schema.MetricComparison` and what ``--gate``
matches. A pipeline's declared metrics (``ctool.model.declared``) are rows
``pipeline.<name>``, judged by their declaration alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctool.model.declared import CPU_KEY, DeclaredMetric
from ctool.model.errors import ReportError
from ctool.model.schema import ProfileReport, WindowStats

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

SAMPLE_BATCHES = 20
"""Batches rebuilt from the raw latencies of a report that stores no batches."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str | None
    lower_is_better: bool = True
    timing: bool = True
    """Timings are worded faster/slower, other metrics better/worse."""
    noisy: bool = True
    """Noisy metrics need per-window values for a verdict; steady ones compare as is."""
    label: str | None = None
    """How renderers name the row (declared metrics); ``None``: from the name."""


_CORE: tuple[MetricSpec, ...] = (
    MetricSpec("latency.p50", "ms"),
    MetricSpec("latency.p95", "ms"),
    MetricSpec("latency.p99", "ms"),
    MetricSpec("latency.mean", "ms"),
    MetricSpec("throughput", "episodes/s", lower_is_better=False),
)
_TAIL: tuple[MetricSpec, ...] = (
    MetricSpec("rss.peak_mb", "MB", timing=False, noisy=False),
    MetricSpec(CPU_KEY, "ms/episode", timing=False),
)

# Keys a WindowStats.metrics dict may use for the non-latency rows.
_WINDOW_METRIC_KEYS: dict[str, tuple[str, ...]] = {
    "rss.peak_mb": ("rss_mb_peak", "resources.rss_mb_peak", "rss.peak_mb"),
    CPU_KEY: ("cpu_ms_per_episode", CPU_KEY),
}


def declared_spec(spec: DeclaredMetric) -> MetricSpec:
    """The compare row of a declared metric: its declaration says everything."""
    return MetricSpec(
        spec.row,
        spec.row_unit,
        lower_is_better=not spec.higher_is_better,
        timing=spec.timing,
        noisy=spec.noisy,
        label=spec.title,
    )


def declared_specs(*reports: ProfileReport) -> dict[str, MetricSpec]:
    """Row name -> spec of every metric either side declared (the first declaration wins)."""
    found: dict[str, MetricSpec] = {}
    for report in reports:
        for spec in report.metrics_declared:
            found.setdefault(spec.row, declared_spec(spec))
    return found


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def summary_values(report: ProfileReport) -> dict[str, float]:
    """Whole-run value of every metric the report has, keyed by metric name."""
    lat = report.latency_ms
    values: dict[str, float] = {
        "latency.p50": lat.p50,
        "latency.p95": lat.p95,
        "latency.p99": lat.p99,
        "latency.mean": lat.mean,
        "throughput": report.throughput_eps,
    }
    for name, stage in report.stages.items():
        values[f"stage.{name}.p50"] = stage.p50_ms
        values[f"stage.{name}.p95"] = stage.p95_ms
    for spec in report.metrics_declared:
        if spec.value is not None:
            values[spec.row] = spec.value
    res = report.resources
    if res.rss_mb_peak is not None:
        values["rss.peak_mb"] = res.rss_mb_peak
    if res.cpu_percent_mean is not None and report.throughput_eps > 0:
        values["cpu.ms_per_episode"] = res.cpu_percent_mean * 10.0 / report.throughput_eps
    return {k: v for k, v in values.items() if math.isfinite(v)}


def window_values(window: WindowStats, declared: Sequence[DeclaredMetric] = ()) -> dict[str, float]:
    """Per-window value of every metric the window has (rounds and batches alike), the
    declared metrics' under their row names.

    A window without ``throughput_eps`` gets ``1000 / mean_ms``: for sequential episodes the
    service rate, which is what throughput measures there.
    """
    values: dict[str, float] = {
        "latency.p50": window.p50_ms,
        "latency.p95": window.p95_ms,
        "latency.p99": window.p99_ms,
        "latency.mean": window.mean_ms,
    }
    if window.throughput_eps is not None:
        values["throughput"] = window.throughput_eps
    elif window.mean_ms > 0:
        values["throughput"] = 1000.0 / window.mean_ms
    for name, stats in window.stages.items():
        for field, suffix in (("p50_ms", "p50"), ("p95_ms", "p95")):
            value = _number(stats.get(field))
            if value is not None:
                values[f"stage.{name}.{suffix}"] = value
    for metric, keys in _WINDOW_METRIC_KEYS.items():
        for key in keys:
            value = _number(window.metrics.get(key))
            if value is not None:
                values[metric] = value
                break
    for spec in declared:
        value = _number(window.metrics.get(spec.name))
        if value is not None:
            values[spec.row] = value
    return values


def window_from_latencies(
    ms: FloatArray, index: int, stages: Mapping[str, FloatArray] | None = None
) -> WindowStats:
    """A :class:`WindowStats` of consecutive sequential episodes (latencies in ms; per-stage
    times optional). Sequential episodes: throughput is episodes over summed latency."""
    import numpy as np

    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    stage_rows = {
        name: {
            "mean_ms": float(values.mean()),
            "p50_ms": float(np.percentile(values, 50)),
            "p95_ms": float(np.percentile(values, 95)),
        }
        for name, values in (stages or {}).items()
    }
    total = float(ms.sum())
    return WindowStats(
        index=index,
        episodes=int(ms.size),
        mean_ms=float(ms.mean()),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(ms.max()),
        throughput_eps=1000.0 * ms.size / total if total > 0 else None,
        stages=stage_rows,
    )


def windows_from_samples(report: ProfileReport, source: str) -> list[WindowStats]:
    """Rebuild ``SAMPLE_BATCHES`` consecutive batches from the raw latencies, if stored."""
    samples = report.latency_ms.samples
    if samples is None or samples.count < 2 * SAMPLE_BATCHES:
        return []
    import numpy as np

    from ctool.model.samples import decode_ns

    try:
        raw = decode_ns(samples.data, samples.count)
    except ValueError as exc:
        raise ReportError(f"{source}: {exc}") from None
    if raw.size and int(raw.min()) < 0:
        raise ReportError(f"{source}: latency samples hold negative values")
    ms = raw.astype(np.float64) / 1e6
    return [
        window_from_latencies(chunk, index)
        for index, chunk in enumerate(np.array_split(ms, SAMPLE_BATCHES))
    ]


def metric_specs(
    names: Iterable[str], declared: Mapping[str, MetricSpec] | None = None
) -> list[MetricSpec]:
    """The rows to show, in a fixed order, for the metric names present on either side:
    latency and throughput, stages, declared metrics (as declared), RSS and CPU."""
    names = list(names)
    present = set(names)
    specs = [spec for spec in _CORE if spec.name in present]
    stages: list[str] = []
    for name in names:
        if name.startswith("stage.") and name.endswith(".p50"):
            stage = name[len("stage.") : -len(".p50")]
            if stage not in stages:
                stages.append(stage)
    for stage in stages:
        specs.append(MetricSpec(f"stage.{stage}.p50", "ms"))
        if f"stage.{stage}.p95" in present:
            specs.append(MetricSpec(f"stage.{stage}.p95", "ms"))
    specs.extend(spec for name, spec in (declared or {}).items() if name in present)
    specs.extend(spec for spec in _TAIL if spec.name in present)
    return specs
