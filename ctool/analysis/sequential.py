"""The statistics of ``ctool ab``'s fine-grained design, and its sequential stopping rule.

``ctool ab`` runs each round as a fresh pair of worker processes (one for A, one for B, the
pair sharing one ``PYTHONHASHSEED``) driven in lockstep: short blocks in ABBA order, one
log ratio ``log(B/A)`` per adjacent block pair. A round's value is the median of its block
pairs' log ratios: robust to a machine state that flips between two blocks. The rounds are
the unit of the test, because a process pair carries effects every one of its blocks shares
(memory layout, allocator, the hash seed); the blocks only make each round's value precise.

**The interval** is Student's t on the round values: the estimate is ``exp(mean)``, the
interval ``exp(mean ± t * sd / sqrt(n))``. Round values are medians of many block ratios, so
close to normal; the t interval is usable from 3 rounds, where the signed-rank test needs 6
before any result can reach 0.05.

**Sequential stopping** (``--until-decided``): looks at a fixed schedule of round counts
(:func:`look_schedule`: 4, 6, 9, 13, ... up to the round budget, about x1.5 apart). The error
rate is controlled across the looks by Bonferroni: each look uses ``alpha / L`` for ``L``
planned looks, so the chance that any interval on the way misses the true ratio is at most
``alpha`` whatever the correlation between looks. The run stops at the first look whose
interval lies inside ``[1/(1+t), 1+t]`` ("no significant change", or "within noise" when it
also excludes 1) or entirely outside it ("faster" / "slower"). Stopping early because time
ran out spends less than ``alpha``: the rule stays valid. When the budget runs out undecided,
:func:`rounds_needed` says how many rounds the observed spread would need.

The t distribution is computed here (closed forms for integer degrees of freedom) rather than
imported from ``scipy.stats``, whose import alone takes about a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ctool.analysis.statistics import RatioTest

MIN_ROUNDS = 3
"""Fewest rounds a t interval can be computed from with a useful width."""
FIRST_LOOK = 4
LOOK_GROWTH = 1.5


def t_two_sided_p(t: float, df: int) -> float:
    """``P(|T| >= |t|)`` for Student's t with integer ``df`` (exact closed forms)."""
    if df < 1:
        raise ValueError("df must be at least 1")
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        total, term = 0.0, 1.0
        if df > 1:
            total = term = 1.0
            for k in range(1, (df - 3) // 2 + 1):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
            total *= math.sin(theta) * math.cos(theta)
        inside = 2.0 / math.pi * (theta + total)
    else:
        total = term = 1.0
        for k in range(1, (df - 2) // 2 + 1):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        inside = math.sin(theta) * total
    return min(1.0, max(0.0, 1.0 - inside))


def t_quantile(alpha: float, df: int) -> float:
    """The two-sided critical value: ``P(|T| >= q) = alpha`` (bisection on the exact CDF)."""
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > alpha:
        high *= 2.0
        if high > 1e12:
            return math.inf
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_two_sided_p(mid, df) > alpha:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return high


@dataclass(frozen=True)
class Interval:
    """The t interval of the mean of the round log ratios, on the ratio scale."""

    n: int
    ratio: float
    low: float
    high: float
    p_value: float
    sd: float
    """Standard deviation of the round log ratios."""
    alpha: float
    """The confidence level used is ``1 - alpha``."""


def t_interval(log_ratios: Sequence[float], alpha: float) -> Interval | None:
    """Student's t interval (confidence ``1 - alpha``) of the mean log ratio, or ``None``
    with fewer than :data:`MIN_ROUNDS` finite values."""
    values = [v for v in log_ratios if math.isfinite(v)]
    n = len(values)
    if n < MIN_ROUNDS:
        return None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    if sd == 0.0:
        p = 1.0 if mean == 0.0 else 0.0
        return Interval(n, math.exp(mean), math.exp(mean), math.exp(mean), p, 0.0, alpha)
    se = sd / math.sqrt(n)
    half = t_quantile(alpha, n - 1) * se
    p = t_two_sided_p(mean / se, n - 1)
    return Interval(n, math.exp(mean), math.exp(mean - half), math.exp(mean + half), p, sd, alpha)


def look_schedule(max_rounds: int, first: int = FIRST_LOOK) -> list[int]:
    """Round counts at which ``--until-decided`` looks: ``first``, then about x1.5 apart,
    and always ``max_rounds`` itself."""
    looks: list[int] = []
    n = max(first, MIN_ROUNDS)
    while n < max_rounds:
        looks.append(n)
        n = max(n + 1, int(round(n * LOOK_GROWTH)))
    looks.append(max(max_rounds, MIN_ROUNDS))
    return looks


def decided(interval: Interval, threshold: float) -> bool:
    """Does the interval lie wholly inside ``[1/(1+t), 1+t]`` or wholly outside it?"""
    top, bottom = 1.0 + threshold, 1.0 / (1.0 + threshold)
    inside = interval.low >= bottom and interval.high <= top
    outside = interval.low > top or interval.high < bottom
    return inside or outside


def rounds_needed(interval: Interval, threshold: float, alpha: float, cap: int = 10_000) -> int:
    """Rounds (in total) the observed spread would need for the interval to decide, at the
    per-look ``alpha``; ``cap`` when the estimate sits (nearly) on the threshold."""
    margin = abs(math.log1p(threshold) - abs(math.log(interval.ratio)))
    if interval.sd == 0.0:
        return interval.n
    n = interval.n
    while n < cap:
        if t_quantile(alpha, n - 1) * interval.sd / math.sqrt(n) < margin:
            return n
        n = n + 1 if n < 100 else int(n * 1.1)
    return cap


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class SequentialRule:
    """``--until-decided``: the looks, the per-look ``alpha`` and the stopping test."""

    threshold: float
    alpha: float
    max_rounds: int
    first: int = FIRST_LOOK

    @property
    def looks(self) -> list[int]:
        return look_schedule(self.max_rounds, self.first)

    @property
    def look_alpha(self) -> float:
        """Bonferroni across the planned looks."""
        return self.alpha / len(self.looks)

    def look(self, log_ratios: Sequence[float]) -> Interval | None:
        """The interval at this look, or ``None`` when ``len(log_ratios)`` is not a look."""
        if len(log_ratios) not in self.looks:
            return None
        return t_interval(log_ratios, self.look_alpha)

    def stops(self, log_ratios: Sequence[float]) -> bool:
        interval = self.look(log_ratios)
        return interval is not None and decided(interval, self.threshold)


def interval_test(interval: Interval | None, n: int, alpha: float) -> RatioTest:
    """An :class:`Interval` as the :class:`RatioTest` that ``classify`` reads."""
    if interval is None:
        return RatioTest(
            None, None, None, None, n, n, False, f"{n} rounds: a t interval needs {MIN_ROUNDS}"
        )
    return RatioTest(
        interval.ratio,
        interval.low,
        interval.high,
        interval.p_value,
        interval.n,
        interval.n,
        True,
    )
