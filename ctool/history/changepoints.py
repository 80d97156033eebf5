"""Change points in a series: where its level stepped, by how much, and how sure we are.

Two stages, as MongoDB's and Otava's detectors do it (E-Divisive candidates, then a
t-test), with the candidate search from ``ruptures`` (chosen by measurement:
``benchmarks/changepoints.py``, docs/history.md):

1. **Candidates**: ``ruptures.KernelCPD`` (linear kernel: the least-squares cost, in C)
   with a penalty of ``penalty x sigma^2 x log n``, sigma the series' noise read robustly
   from its successive differences (a step moves one difference, not their median). Over
   2,000 points the search runs on means of consecutive points, and each change is
   then placed exactly.
2. **Tests**: each candidate is judged by Welch's t-test between the segments either side
   of it. The weakest candidate that fails (``p > alpha``, default 0.001, or a change
   smaller than ``min_magnitude``) is dropped and its neighbours re-tested, until every
   change left passes. p = 0.05 or 0.01 flag single outliers (Otava's maintainers found);
   0.001 and segments of at least ``min_size`` points do not.

Deterministic (no permutations, no random state). Each change has its size (after/before
- 1) and a ``1 - alpha`` interval for it. ``ruptures`` and ``numpy`` are imported when a
series is analysed, never at ``ctool --help``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ctool.model.errors import UsageError

DEFAULT_ALPHA = 0.001
DEFAULT_MIN_MAGNITUDE = 0.01
DEFAULT_MIN_SIZE = 5
DEFAULT_PENALTY = 3.0
RUPTURES_INSTALL = 'pip install "ctool[history]"'
COARSE_POINTS = 2000
"""Longer series are searched as means of consecutive points (at most 2,000 of them:
KernelCPD is quadratic), each change then placed exactly within one mean (least squares)."""


@dataclass(frozen=True)
class ChangePoint:
    index: int
    """The first point after the change."""
    before: float
    """Mean of the segment before it."""
    after: float
    change: float
    """``after / before - 1``."""
    low: float
    high: float
    """The ``1 - alpha`` interval of ``change`` (Welch)."""
    p_value: float


def noise_sd(values: Any) -> float:
    """The noise's standard deviation from successive differences (median absolute
    difference / (0.6745 sqrt 2)): a level step moves one difference only."""
    import numpy as np

    diffs = np.abs(np.diff(values))
    return float(np.median(diffs) / (0.6745 * math.sqrt(2))) if len(diffs) else 0.0


def _candidates(x: Any, min_size: int, penalty: float) -> list[int]:
    try:
        import ruptures
    except ImportError:
        raise UsageError(f"change points need ruptures: {RUPTURES_INSTALL}") from None
    sigma = noise_sd(x)
    scale = max(sigma, 1e-9 * max(float(abs(x).max()), 1.0))
    jump = max(1, -(-len(x) // COARSE_POINTS))
    coarse = x if jump == 1 else x[: len(x) // jump * jump].reshape(-1, jump).mean(axis=1)
    algo = ruptures.KernelCPD(kernel="linear", min_size=max(1, -(-min_size // jump)))
    pen = penalty * (scale**2 / jump) * math.log(len(x))
    cps = [int(b) * jump for b in algo.fit(coarse.reshape(-1, 1)).predict(pen=pen)[:-1]]
    if jump > 1:
        edges = [0, *cps, len(x)]
        cps = [_refine(x, edges[i], c, edges[i + 2], jump, min_size) for i, c in enumerate(cps)]
    return cps


def _refine(x: Any, start: int, cp: int, end: int, jump: int, min_size: int) -> int:
    """The best split of ``x[start:end]`` within ``jump`` of ``cp`` (least squares)."""
    import numpy as np

    segment = x[start:end]
    n = len(segment)
    sums = np.cumsum(segment)
    splits = np.arange(max(min_size, cp - start - jump), min(n - min_size, cp - start + jump) + 1)
    if len(splits) == 0:
        return cp
    left = sums[splits - 1] / splits
    right = (sums[-1] - sums[splits - 1]) / (n - splits)
    gain = (left - right) ** 2 * splits * (n - splits) / n
    return int(start + splits[int(np.argmax(gain))])


def _test(left: Any, right: Any, alpha: float) -> tuple[float, float, float, float]:
    """Welch's test of two segments: (change, low, high, p)."""
    from scipy import stats

    m1, m2 = float(left.mean()), float(right.mean())
    v1, v2 = float(left.var(ddof=1)), float(right.var(ddof=1))
    n1, n2 = len(left), len(right)
    se2 = v1 / n1 + v2 / n2
    base = m1 if m1 != 0 else 1e-12
    if se2 <= 0:
        change = m2 / base - 1
        return change, change, change, 0.0 if m1 != m2 else 1.0
    df = se2**2 / ((v1 / n1) ** 2 / max(n1 - 1, 1) + (v2 / n2) ** 2 / max(n2 - 1, 1))
    t = (m2 - m1) / math.sqrt(se2)
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(1 - alpha / 2, df)) * math.sqrt(se2)
    return m2 / base - 1, (m2 - m1 - half) / base, (m2 - m1 + half) / base, p


def detect(
    values: Sequence[float],
    *,
    alpha: float = DEFAULT_ALPHA,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    min_size: int = DEFAULT_MIN_SIZE,
    penalty: float = DEFAULT_PENALTY,
) -> list[ChangePoint]:
    """The change points of ``values`` (in order) that pass the test and the magnitude."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    if len(x) < 2 * min_size or not np.isfinite(x).all():
        return []
    cps = _candidates(x, min_size, penalty)
    while True:
        edges = [0, *cps, len(x)]
        judged = []
        for i, cp in enumerate(cps):
            change, low, high, p = _test(x[edges[i] : cp], x[cp : edges[i + 2]], alpha)
            judged.append((cp, change, low, high, p))
        failing = [j for j in judged if j[4] > alpha or abs(j[1]) < min_magnitude]
        if not failing:
            break
        worst = max(failing, key=lambda j: (j[4], -abs(j[1])))
        cps.remove(worst[0])
    result = []
    for i, (cp, change, low, high, p) in enumerate(judged):
        before = float(x[([0, *cps][i]) : cp].mean())
        result.append(ChangePoint(cp, before, before * (1 + change), change, low, high, p))
    return result
