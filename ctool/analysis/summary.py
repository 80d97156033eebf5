"""Pure functions from episode records to the report's summaries (docs/design.md section 9).

Percentiles are exact, from the samples (numpy's linear interpolation between order
statistics), never from buckets. Nothing here prints or touches a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ctool.model.records import BETWEEN_STAGES, MonitorSummary, PartRecords
from ctool.model.samples import ENCODING, encode_ns
from ctool.model.schema import (
    BlockingCall,
    Drift,
    ErrorSample,
    ErrorSummary,
    LatencySummary,
    LoadLevel,
    LoadVerdict,
    Samples,
    ScalingRow,
    StageStats,
    WindowStats,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

NS_PER_MS = 1e6
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
MIN_BATCHES = 20
MAX_BATCHES = 50
DRIFT_WINDOWS = 10


def as_array(values: Iterable[int]) -> IntArray:
    import numpy as np

    if hasattr(values, "typecode"):  # array('q'): zero-copy
        return np.frombuffer(values, dtype=np.int64)  # type: ignore[call-overload,no-any-return]
    return np.fromiter(values, dtype=np.int64)


def _ms(value: float) -> float:
    return float(value) / NS_PER_MS


def percentiles_ms(ns: IntArray, qs: Sequence[float] = PERCENTILES) -> list[float]:
    import numpy as np

    if ns.size == 0:
        return [0.0 for _ in qs]
    return [_ms(v) for v in np.percentile(ns, list(qs))]


def latency_summary(ns: IntArray, *, with_samples: bool = True) -> LatencySummary:
    """count, mean, stdev, min, p50..p99.9, max in ms, plus the lossless samples."""
    import numpy as np

    samples = (
        Samples(encoding=ENCODING, count=int(ns.size), data=encode_ns(ns)) if with_samples else None
    )
    if ns.size == 0:
        zero = 0.0
        return LatencySummary(
            count=0, mean=zero, stdev=zero, min=zero, p50=zero, p90=zero, p95=zero,
            p99=zero, p999=zero, max=zero, samples=samples,
        )  # fmt: skip
    p50, p90, p95, p99, p999 = percentiles_ms(ns)
    stdev = float(np.std(ns, ddof=1)) if ns.size > 1 else 0.0
    return LatencySummary(
        count=int(ns.size),
        mean=_ms(float(np.mean(ns))),
        stdev=_ms(stdev),
        min=_ms(int(ns.min())),
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        p999=p999,
        max=_ms(int(ns.max())),
        samples=samples,
    )


def error_summary(part: PartRecords) -> ErrorSummary:
    attempted = part.attempted
    return ErrorSummary(
        count=part.errors,
        rate=part.errors / attempted if attempted else 0.0,
        samples=[
            ErrorSample(episode=s.episode, type=s.type, message=s.message, stack=s.stack)
            for s in part.error_samples
        ],
        by_type=dict(part.errors_by_type),
    )


def throughput(part: PartRecords) -> float:
    return part.ok / (part.wall_ns / 1e9) if part.wall_ns > 0 else 0.0


def stage_table(part: PartRecords) -> tuple[dict[str, StageStats], str | None]:
    """Stages ordered for display, and the bottleneck.

    Top-level stages sorted by share (largest first), each followed by the stages nested in
    it; then the time outside every top-level stage as ``(between stages)``. Shares are
    fractions of the total episode (service) time, so the top-level rows and the between row
    sum to 1. The bottleneck is the top-level stage with the largest share.
    """
    service = as_array(part.service_ns())
    total = float(service.sum()) if service.size else 0.0
    stats: dict[str, StageStats] = {}
    for name, col in part.stages.items():
        durations = as_array(col.durations)
        stats[name] = _stage_stats(durations, col.count, total, col.depth, col.parent)
    ordered: dict[str, StageStats] = {}

    def add_with_children(name: str) -> None:
        ordered[name] = stats[name]
        children = [n for n, s in stats.items() if s.parent == name and n not in ordered]
        for child in sorted(children, key=lambda n: -stats[n].share):
            add_with_children(child)

    tops = sorted((n for n, s in stats.items() if s.depth == 0), key=lambda n: -stats[n].share)
    for name in tops:
        add_with_children(name)
    for name in stats:  # orphans: nested stages whose parent never showed up
        if name not in ordered:
            ordered[name] = stats[name]
    if stats and part.ok:
        between = as_array(part.between)
        ordered[BETWEEN_STAGES] = _stage_stats(between, int(between.size), total, 0, None)
    bottleneck = tops[0] if tops else None
    return ordered, bottleneck


def _stage_stats(
    durations: IntArray, count: int, total: float, depth: int, parent: str | None
) -> StageStats:
    import numpy as np

    p50, p95, p99 = percentiles_ms(durations, (50.0, 95.0, 99.0))
    return StageStats(
        count=count,
        mean_ms=_ms(float(np.mean(durations))) if durations.size else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        share=float(durations.sum()) / total if total > 0 else 0.0,
        depth=depth,
        parent=parent,
        episodes=int(durations.size),
    )


def window_stats(
    part: PartRecords,
    index: int,
    lo: int = 0,
    hi: int | None = None,
    *,
    pid: int | None = None,
    metrics: dict[str, float] | None = None,
) -> WindowStats:
    """Summary of the ok episodes ``lo:hi`` of a part (a batch, a window, a whole round)."""
    import numpy as np

    hi = part.ok if hi is None else hi
    lat = as_array(part.latencies)[lo:hi]
    offsets = as_array(part.offsets)[lo:hi]
    mean = _ms(float(np.mean(lat))) if lat.size else 0.0
    p50, p95, p99 = percentiles_ms(lat, (50.0, 95.0, 99.0))
    wall = float((offsets + lat).max() - offsets.min()) if lat.size else 0.0
    stages: dict[str, dict[str, float]] = {}
    for name, col in part.stages.items():
        pos = as_array(col.positions)
        a, b = np.searchsorted(pos, [lo, hi])
        durations = as_array(col.durations)[a:b]
        if durations.size:
            s50, s95 = percentiles_ms(durations, (50.0, 95.0))
            stages[name] = {"mean_ms": _ms(float(np.mean(durations))), "p50_ms": s50, "p95_ms": s95}
    return WindowStats(
        index=index,
        episodes=int(lat.size),
        mean_ms=mean,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=_ms(int(lat.max())) if lat.size else 0.0,
        throughput_eps=lat.size / (wall / 1e9) if wall > 0 else None,
        stages=stages,
        metrics=metrics or {},
        pid=pid,
    )


def batch_bounds(n: int) -> list[tuple[int, int]]:
    """Consecutive batches: at least 20 when there are 20 episodes, at most 50."""
    if n <= 0:
        return []
    count = n if n < MIN_BATCHES else max(MIN_BATCHES, min(MAX_BATCHES, n // 20))
    edges = [round(i * n / count) for i in range(count + 1)]
    return [(edges[i], edges[i + 1]) for i in range(count) if edges[i + 1] > edges[i]]


def batches(part: PartRecords) -> list[WindowStats]:
    return [window_stats(part, i, lo, hi) for i, (lo, hi) in enumerate(batch_bounds(part.ok))]


def drift(part: PartRecords, windows: int = DRIFT_WINDOWS) -> Drift | None:
    """First against last time window of a part, judged on an interval (analysis.drift)."""
    from ctool.analysis import drift as drift_analysis

    return drift_analysis.drift(part, windows)


def slice_throughputs(part: PartRecords) -> list[float]:
    from ctool.analysis import load

    return load.slice_throughputs(part)


def load_level(
    part: PartRecords,
    *,
    concurrency: int | None = None,
    rate: float | None = None,
    label: str | None = None,
    extra: dict[str, Any] | None = None,
) -> LoadLevel:
    import numpy as np

    lat = as_array(part.latencies)
    p50, p95, p99 = percentiles_ms(lat, (50.0, 95.0, 99.0))
    extra = {"mean_ms": _ms(float(np.mean(lat))) if lat.size else 0.0, **(extra or {})}
    return LoadLevel(
        concurrency=concurrency,
        rate=rate,
        label=label,
        episodes=part.ok,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=_ms(int(lat.max())) if lat.size else 0.0,
        throughput_eps=throughput(part),
        errors=part.errors,
        queue_depth_max=part.queue_depth_max,
        slice_throughput_eps=slice_throughputs(part) if concurrency else [],
        extra=extra,
    )


def load_verdict(levels: Sequence[LoadLevel]) -> LoadVerdict | None:
    """Knee, cliff or scaling of a concurrency sweep, from intervals (analysis.load)."""
    from ctool.analysis import load

    return load.load_verdict(levels)


def scaling_rows(throughputs: Sequence[tuple[int, float, PartRecords]]) -> list[ScalingRow]:
    """``--workers``: throughput with k workers and its efficiency against k times one worker."""
    if not throughputs:
        return []
    base = next((t for k, t, _ in throughputs if k == 1), None)
    rows = []
    for k, eps, part in throughputs:
        lat = as_array(part.latencies)
        p50, p99 = percentiles_ms(lat, (50.0, 99.0))
        rows.append(
            ScalingRow(
                workers=k,
                episodes=part.ok,
                throughput_eps=eps,
                efficiency=eps / (k * base) if base else None,
                p50_ms=p50,
                p99_ms=p99,
            )
        )
    return rows


def blocking_calls(monitor: MonitorSummary | None, limit: int = 10) -> list[BlockingCall]:
    if monitor is None:
        return []
    sites = sorted(
        monitor.sites.values(), key=lambda s: (s.kind != "blocking", -s.total_ns, s.file, s.line)
    )
    return [
        BlockingCall(
            function=s.function,
            file=s.file,
            line=s.line,
            count=s.count,
            total_ms=_ms(s.total_ns),
            max_ms=_ms(s.max_ns),
            stage=s.stage,
            kind=s.kind,
            callee=s.callee,
            stack=s.stack,
        )
        for s in sites[:limit]
    ]


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``{"phi": {"p95_ms": 1.2}}`` -> ``{"phi.p95_ms": 1.2}`` (numbers only)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_metrics(value, name + "."))
        elif (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        ):
            flat[name] = float(value)
    return flat
