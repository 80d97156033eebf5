"""Drift within one run: is the pipeline slowing down (or speeding up) as it goes?

The run's time span is cut into equal windows; the first window's median latency is compared
with the last's. Neighbouring episodes are not independent (a cache warms, a neighbour
process starts, a GC cycle spans several episodes), so the interval of the change comes from
a moving-block bootstrap: each window is resampled in blocks of consecutive episodes, which
keeps the dependence inside a block. The verdict needs that interval:

* ``slower over time`` / ``faster over time``: the whole interval lies beyond the threshold;
* ``stable``: the whole interval lies within the threshold;
* ``inconclusive``: neither -- the run is too short (or too noisy) to tell; the detail says
  what would decide it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ctool.model.format import ms
from ctool.model.records import PartRecords
from ctool.model.schema import Drift, DriftVerdict, DriftWindow

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]

WINDOWS = 10
THRESHOLD = 0.05
"""A change of the median within 5 % either way is stability."""
CONFIDENCE = 0.95
RESAMPLES = 2000
MIN_PER_WINDOW = 5


def lag1(values: IntArray) -> float:
    """Lag-1 autocorrelation of a series (0 for one too short or constant)."""
    import numpy as np

    if values.size < 3:
        return 0.0
    centred = values.astype(np.float64) - float(values.mean())
    denominator = float(np.dot(centred, centred))
    return float(np.dot(centred[:-1], centred[1:]) / denominator) if denominator > 0 else 0.0


def block_length(n: int, rho: float = 0.0) -> int:
    """Consecutive episodes kept together in a resample: the AR(1) rule for the block
    bootstrap of a mean, ``(2 rho / (1 - rho^2))^(2/3) n^(1/3)``, between 1 and n / 2."""
    rho = min(abs(rho), 0.99)
    scale = (2 * rho / (1 - rho * rho)) ** (2 / 3) if rho > 0 else 0.0
    return max(1, min(n // 2, int(round(scale * n ** (1 / 3)))))


def block_medians(
    values: IntArray, resamples: int, rng: np.random.Generator, rho: float = 0.0
) -> FloatArray:
    """Medians of ``resamples`` moving-block (circular) bootstrap resamples of ``values``."""
    import numpy as np

    n = int(values.size)
    length = block_length(n, rho)
    blocks = math.ceil(n / length)
    starts = rng.integers(0, n, size=(resamples, blocks))
    index = (starts[:, :, None] + np.arange(length)[None, None, :]) % n
    resampled = values[index.reshape(resamples, blocks * length)[:, :n]]
    medians: FloatArray = np.median(resampled, axis=1)
    return medians


def change_interval(
    first: IntArray,
    last: IntArray,
    *,
    rho: float | None = None,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float]:
    """Interval of median(last) / median(first) - 1, by block bootstrap of each window;
    blocks as long as the series' lag-1 autocorrelation ``rho`` asks (default: estimated
    from the two windows)."""
    import numpy as np

    if rho is None:
        rho = (lag1(first) * first.size + lag1(last) * last.size) / (first.size + last.size)
    rng = np.random.default_rng(seed)
    ratio = block_medians(last, RESAMPLES, rng, rho) / np.maximum(
        block_medians(first, RESAMPLES, rng, rho), 1e-300
    )
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(ratio, [tail, 100.0 - tail])
    return float(low) - 1.0, float(high) - 1.0


def classify(low: float, high: float, threshold: float = THRESHOLD) -> DriftVerdict:
    if low > threshold:
        return "slower over time"
    if high < -threshold:
        return "faster over time"
    if -threshold <= low and high <= threshold:
        return "stable"
    return "inconclusive"


def windows_of(part: PartRecords, windows: int) -> tuple[list[IntArray], FloatArray] | None:
    """Episode latencies per equal time window (in start order), and the windows' edges."""
    import numpy as np

    offsets = np.asarray(part.offsets, dtype=np.int64)
    order = np.argsort(offsets, kind="stable")
    ordered = offsets[order]
    span = float(ordered[-1] - ordered[0])
    if span <= 0:
        return None
    edges: FloatArray = ordered[0] + np.arange(windows + 1) * span / windows
    cuts = np.searchsorted(ordered, edges[1:-1])
    latencies = np.asarray(part.latencies, dtype=np.int64)
    return [latencies[group] for group in np.split(order, cuts)], edges


def drift(part: PartRecords, windows: int = WINDOWS) -> Drift | None:
    """First against last window of a part, with an interval that survives autocorrelation."""
    import numpy as np

    if part.ok < MIN_PER_WINDOW * windows:
        return None
    cut = windows_of(part, windows)
    if cut is None:
        return None
    groups, edges = cut
    rows = [
        DriftWindow(
            index=i,
            t_s=float(edges[i]) / 1e9,
            episodes=int(values.size),
            mean_ms=float(values.mean()) / 1e6,
            p50_ms=float(np.percentile(values, 50)) / 1e6,
            p95_ms=float(np.percentile(values, 95)) / 1e6,
        )
        for i, values in enumerate(groups)
        if values.size
    ]
    first, last = groups[0], groups[-1]
    if first.size < 3 or last.size < 3:
        return None
    from scipy.stats import mannwhitneyu

    p_value = float(mannwhitneyu(first, last, alternative="two-sided").pvalue)
    first_p50, last_p50 = float(np.median(first)), float(np.median(last))
    change = last_p50 / first_p50 - 1.0 if first_p50 > 0 else 0.0
    in_order = np.concatenate(groups)
    low, high = change_interval(first, last, rho=max(0.0, lag1(in_order)))
    return Drift(
        windows=rows,
        first_p50_ms=first_p50 / 1e6,
        last_p50_ms=last_p50 / 1e6,
        p50_change_pct=100.0 * change,
        p_value=p_value,
        verdict=classify(low, high),
        change_low_pct=100.0 * low,
        change_high_pct=100.0 * high,
        threshold_pct=100.0 * THRESHOLD,
        confidence=CONFIDENCE,
    )


def describe(d: Drift) -> str:
    """One line for every renderer: the change, its interval, the verdict and, when the
    answer is "inconclusive", what would decide it."""
    text = (
        f"Drift, first vs last tenth of the run: median {ms(d.first_p50_ms)} -> "
        f"{ms(d.last_p50_ms)} ms ({d.p50_change_pct:+.1f}%"
    )
    if d.change_low_pct is not None and d.change_high_pct is not None:
        level = round(100 * (d.confidence or CONFIDENCE))
        text += f", {level}% interval {d.change_low_pct:+.1f}% .. {d.change_high_pct:+.1f}%"
    else:
        text += f", p={d.p_value:.2g}"
    text += f"): {d.verdict}"
    if d.verdict == "inconclusive":
        threshold = d.threshold_pct if d.threshold_pct is not None else 100.0 * THRESHOLD
        text += (
            f" (the interval is not inside +/-{threshold:g}% nor beyond it; "
            "a longer run, with more episodes per tenth, would decide)"
        )
    return text
