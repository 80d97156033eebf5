"""The closed-loop sweep's verdict (knee, cliff, scales), decided from intervals.

Each level's throughput is measured in equal time slices (episodes completed per second
in each), so two levels compare with an interval: the ratio of their mean throughputs,
Welch's t on the log scale. By Little's law a level's mean latency is its concurrency over
its throughput, so between two levels the *elasticity* of latency to load is
``1 - log(throughput ratio) / log(load growth)``: 0 when throughput grows with load, 1 when
it stays flat (saturated: latency grows as load), above 1 when it falls.

* ``cliff``: beyond the peak, a level's throughput falls below ``1 - CLIFF_DROP`` of the
  peak's with confidence (the interval's upper end is below it): latency then grows
  faster than load by more than noise allows. A smaller fall between neighbouring levels
  is not judged a cliff: levels run one after another, and on a busy machine their
  throughputs differ by several percent for reasons the slices of one level cannot see
  (``benchmarks/load_verdict.py`` shows it on the reference pipeline);
* ``knee``: the first level after which elasticity is at least ``KNEE_ELASTICITY`` with
  confidence, and no cliff: throughput saturates there and holds beyond it (graceful);
* ``scales``: elasticity below ``KNEE_ELASTICITY`` with confidence at every step;
* ``inconclusive``: the intervals decide neither (the detail says which step and what
  would decide it: more episodes per level).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ctool.model.records import PartRecords
from ctool.model.schema import LoadLevel, LoadVerdict, LoadVerdictKind

SLICES = 10
MIN_PER_SLICE = 5
MIN_SLICES = 4
CONFIDENCE = 0.95
KNEE_ELASTICITY = 0.5
CLIFF_DROP = 0.2


def slice_throughputs(part: PartRecords, slices: int = SLICES) -> list[float]:
    """Episodes completed per second in each equal time slice of the part (fewer slices when
    the part is short, none when it is too short to have an interval)."""
    count = min(slices, part.ok // MIN_PER_SLICE)
    if count < MIN_SLICES:
        return []
    ends = sorted(o + lat for o, lat in zip(part.offsets, part.latencies, strict=False))
    start, stop = 0, ends[-1]
    if stop <= start:
        return []
    width = (stop - start) / count
    counts = [0] * count
    for end in ends:
        counts[min(count - 1, max(0, math.ceil((end - start) / width) - 1))] += 1
    return [c / (width / 1e9) for c in counts]


@dataclass(frozen=True)
class Ratio:
    """Mean throughput of one level over another's, with its interval."""

    value: float
    low: float
    high: float


def throughput_ratio(after: LoadLevel, before: LoadLevel) -> Ratio:
    """``after / before`` of mean slice throughput, Welch's t interval on the log scale;
    without slices on both sides, the point value with an unbounded interval."""
    point = after.throughput_eps / before.throughput_eps if before.throughput_eps > 0 else 0.0
    a, b = after.slice_throughput_eps, before.slice_throughput_eps
    if len(a) < 2 or len(b) < 2 or point <= 0:
        return Ratio(point, 0.0, math.inf)
    from statistics import fmean, variance

    from scipy.stats import t

    mean_a, mean_b = fmean(a), fmean(b)
    if mean_a <= 0 or mean_b <= 0:
        return Ratio(point, 0.0, math.inf)
    va = variance(a) / (len(a) * mean_a**2)
    vb = variance(b) / (len(b) * mean_b**2)
    se = math.sqrt(va + vb)
    if se == 0:
        ratio = mean_a / mean_b
        return Ratio(ratio, ratio, ratio)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    centre = math.log(mean_a / mean_b)
    return Ratio(math.exp(centre), math.exp(centre - half), math.exp(centre + half))


def elasticity(ratio: Ratio, load_growth: float) -> tuple[float, float, float]:
    """(point, low, high) elasticity of latency to load from a throughput ratio."""
    g = math.log(load_growth)

    def at(r: float) -> float:
        if r <= 0:
            return math.inf
        return 1.0 - math.log(r) / g if math.isfinite(r) else -math.inf

    return at(ratio.value), at(ratio.high), at(ratio.low)


def _step(prev: LoadLevel, row: LoadLevel) -> tuple[float, float, float, float]:
    """Load growth and elasticity (point, low, high) from ``prev`` to ``row``; the growth
    figures land in the row's ``extra``."""
    load_growth = (row.concurrency or 1) / (prev.concurrency or 1)
    point, low, high = elasticity(throughput_ratio(row, prev), load_growth)
    before, after = _mean_ms(prev), _mean_ms(row)
    row.extra.update(
        load_growth=load_growth,
        latency_growth=after / before if before > 0 else math.inf,
        elasticity=point,
        elasticity_low=low,
        elasticity_high=high,
    )
    return load_growth, point, low, high


def load_verdict(levels: Sequence[LoadLevel]) -> LoadVerdict | None:
    """Knee, cliff or scaling of a closed-loop concurrency sweep, from intervals."""
    rows = sorted((lv for lv in levels if lv.concurrency), key=lambda lv: lv.concurrency or 0)
    if len(rows) < 2:
        return None
    peak = max(rows, key=lambda lv: lv.throughput_eps)
    knee: int | None = None
    cliff: int | None = None
    knee_doubt: list[str] = []
    cliff_doubt: list[str] = []
    for prev, row in zip(rows, rows[1:], strict=False):
        _, _, low, high = _step(prev, row)
        if knee is None:
            if low >= KNEE_ELASTICITY:
                knee = prev.concurrency
            elif high >= KNEE_ELASTICITY:
                knee_doubt.append(f"{prev.concurrency}->{row.concurrency}")
        if (row.concurrency or 0) > (peak.concurrency or 0) and cliff is None:
            fall = throughput_ratio(row, peak)
            if fall.high < 1.0 - CLIFF_DROP:
                cliff = row.concurrency
            elif fall.value < 1.0 - CLIFF_DROP:
                cliff_doubt.append(f"throughput at concurrency {row.concurrency}")
    return _verdict(rows, peak, knee, cliff, knee_doubt, cliff_doubt)


def _verdict(
    rows: list[LoadLevel],
    peak: LoadLevel,
    knee: int | None,
    cliff: int | None,
    knee_doubt: list[str],
    cliff_doubt: list[str],
) -> LoadVerdict:
    top = rows[-1]
    overall_load = (top.concurrency or 1) / (rows[0].concurrency or 1)
    first_mean = _mean_ms(rows[0])
    overall_latency = _mean_ms(top) / first_mean if first_mean > 0 else math.inf
    best = peak.throughput_eps
    verdict: LoadVerdictKind
    if cliff is not None:
        verdict = "cliff"
        detail = (
            f"cliff at concurrency {cliff}: throughput falls more than {CLIFF_DROP:.0%} below "
            f"its peak ({best:.1f} eps at concurrency {peak.concurrency}) beyond noise"
        )
    elif cliff_doubt or (knee is None and knee_doubt):
        verdict = "inconclusive"
        detail = (
            "inconclusive: the intervals decide neither a cliff nor graceful load "
            f"({', '.join(cliff_doubt or [f'elasticity {s}' for s in knee_doubt])}); more "
            "episodes per level would"
        )
    elif knee is not None:
        verdict = "knee"
        earlier = f" (or as early as {knee_doubt[0].split('->')[0]})" if knee_doubt else ""
        detail = (
            f"knee at concurrency {knee}{earlier}: beyond it throughput holds near "
            f"{best:.1f} eps and latency grows with load (graceful)"
        )
    else:
        verdict = "scales"
        detail = (
            f"scales to concurrency {top.concurrency}: mean latency x{overall_latency:.2f} "
            f"for x{overall_load:.0f} load"
        )
    return LoadVerdict(
        verdict=verdict,
        knee_concurrency=knee,
        cliff_concurrency=cliff,
        peak_throughput_eps=best,
        peak_concurrency=peak.concurrency,
        latency_growth=overall_latency if math.isfinite(overall_latency) else None,
        load_growth=overall_load,
        detail=detail,
        cliff_drop=CLIFF_DROP,
        confidence=CONFIDENCE,
    )


def _mean_ms(level: LoadLevel) -> float:
    value = level.extra.get("mean_ms")
    return float(value) if isinstance(value, (int, float)) else level.p50_ms
