"""The statistics behind ``ctool compare`` and ``ctool ab``: pure functions over arrays.

Two designs, one decision rule (docs/design.md section 9, docs/compare.md):

* **Independent windows** (:func:`two_sample_ratio`): per-window values of a metric from two
  reports (rounds, each a fresh process; or batches of one run). Mann-Whitney U tests for a
  shift; a percentile bootstrap gives the interval of ``median(after) / median(before)``.
* **Paired rounds** (:func:`paired_ratio`): ``ctool ab`` runs A and B back to back in each
  round, so a round's log ratio ``log(B/A)`` cancels the machine state the two halves
  share. The Wilcoxon signed-rank test tests those log ratios; the estimate is their
  Hodges-Lehmann median (the median of the Walsh averages) and the interval is the exact
  distribution-free interval that goes with the signed-rank test.

:func:`classify` turns an estimate, its interval and its p-value into a verdict:

* ``inconclusive`` -- the data cannot decide: too few windows for any result to reach
  ``alpha``, or not significant while the interval still reaches beyond the threshold.
* ``no significant change`` -- not significant, and the interval lies inside
  ``[1/(1+t), 1+t]``: a change beyond the threshold is ruled out.
* ``within noise`` -- significant, but the estimate lies inside the threshold: a real but
  small difference, no larger than what run-to-run noise produces.
* ``faster`` / ``slower`` (``better`` / ``worse`` for non-timing metrics) -- significant
  (p < alpha and the interval excludes 1) AND the estimate beyond the threshold.

"Beyond the threshold" is symmetric in log space: ``ratio > 1 + t`` or ``ratio < 1/(1+t)``.

The two rank tests are implemented here on numpy rather than called from ``scipy.stats``:
importing ``scipy.stats`` alone takes over a second, more than half of the 2 s that
comparing two 100,000-episode reports may take end to end. They follow scipy's definitions
(average ranks for ties; exact null distributions for small samples without ties; the
normal approximation with tie correction otherwise; Mann-Whitney with continuity
correction), and ``tests/analysis/test_statistics.py`` checks them against ``scipy.stats`` to 1e-9.
numpy is imported inside the functions: ``ctool --help`` never pays for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ctool.model.schema import Verdict

    FloatArray = npt.NDArray[np.float64]


CHANGED_VERDICTS: frozenset[Verdict] = frozenset({"faster", "slower", "better", "worse"})
WORSE_VERDICTS: frozenset[Verdict] = frozenset({"slower", "worse"})

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
"""Fixed: the same two files always give the same interval."""

_EXACT_SIGNED_RANK_MAX_N = 400


@dataclass(frozen=True)
class RatioTest:
    """The outcome of one test of ``after / before`` (or B/A)."""

    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_before: int
    n_after: int
    testable: bool
    """False when no outcome of the test could reach ``alpha`` (too few windows)."""
    reason: str = ""


def _clean(values: Sequence[float] | FloatArray) -> FloatArray:
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).ravel()
    return arr[np.isfinite(arr)]


def min_p_mann_whitney(n1: int, n2: int) -> float:
    """The smallest two-sided p-value Mann-Whitney U can give with these sample sizes."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def min_p_signed_rank(n: int) -> float:
    """The smallest two-sided p-value the Wilcoxon signed-rank test can give for n pairs."""
    if n < 1:
        return 1.0
    return min(1.0, 2.0 / 2.0**n)


def min_rounds_for(alpha: float) -> int:
    """Fewest paired rounds with which a signed-rank result can reach ``alpha``."""
    n = 1
    while min_p_signed_rank(n) >= alpha and n < 64:
        n += 1
    return n


def average_ranks(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """1-based ranks with ties given their average rank, and the size of each tie group."""
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    cuts = np.flatnonzero(np.diff(ordered) != 0) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [values.size]])
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    groups: FloatArray = (ends - starts).astype(np.float64)
    return ranks, groups


def mann_whitney_pmf(m: int, n: int) -> FloatArray:
    """Null distribution of U for samples of m and n without ties: ``pmf[u]``.

    The counts are the coefficients of the Gaussian binomial ``[m+n choose m]_q``, built as
    the product of ``(1 - q^(big+i)) / (1 - q^i)`` for i = 1 .. small.
    """
    import numpy as np

    small, big = min(m, n), max(m, n)
    size = m * n + 1
    poly = np.zeros(size)
    poly[0] = 1.0
    for i in range(1, small + 1):
        shift = big + i
        if shift < size:
            poly[shift:] -= poly[: size - shift].copy()
        for start in range(i):  # divide by (1 - q^i): a running sum with stride i
            poly[start::i] = np.cumsum(poly[start::i])
    result: FloatArray = poly / math.comb(m + n, m)
    return result


def mann_whitney_p(before: FloatArray, after: FloatArray) -> float:
    """Two-sided Mann-Whitney U p-value, as ``scipy.stats.mannwhitneyu(method="auto")``."""
    import numpy as np

    n1, n2 = int(before.size), int(after.size)
    ranks, groups = average_ranks(np.concatenate([before, after]))
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    ties = bool((groups > 1).any())
    if (n1 <= 8 or n2 <= 8) and not ties:
        pmf = mann_whitney_pmf(n1, n2)
        return min(1.0, 2.0 * float(pmf[int(round(u)) :].sum()))
    n = n1 + n2
    tie_term = float((groups**3 - groups).sum())
    sd = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    if sd == 0:
        return 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / sd
    return min(1.0, max(0.0, math.erfc(z / math.sqrt(2.0))))


def signed_rank_p(diffs: FloatArray) -> float:
    """Two-sided Wilcoxon signed-rank p-value, as ``scipy.stats.wilcoxon(method="auto")``.

    Zeros are dropped. Without ties: exact up to 50 pairs. With ties: the exact sign-flip
    distribution up to 13 pairs. Otherwise the normal approximation, tie-corrected.
    """
    import numpy as np

    zeros = bool((diffs == 0).any())
    d = diffs[diffs != 0]
    n = int(d.size)
    if n == 0:
        return 1.0
    ranks, groups = average_ranks(np.abs(d))
    r_plus = float(ranks[d > 0].sum())
    mean = n * (n + 1) / 4.0
    ties = bool((groups > 1).any())
    if not ties and not zeros and n <= 50:
        cdf = signed_rank_cdf(n)
        t = int(round(r_plus))
        below = float(cdf[t])
        above = 1.0 - (float(cdf[t - 1]) if t > 0 else 0.0)
        return min(1.0, 2.0 * min(below, above))
    if diffs.size <= 13:
        signs = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
        sums = signs @ ranks
        far = np.abs(sums - mean) >= abs(r_plus - mean) - 1e-9
        return float(far.mean())
    sd = math.sqrt((n * (n + 1) * (2 * n + 1) - float((groups**3 - groups).sum()) / 2.0) / 24.0)
    if sd == 0:
        return 1.0
    return min(1.0, math.erfc(abs(r_plus - mean) / sd / math.sqrt(2.0)))


def two_sample_ratio(
    before: Sequence[float] | FloatArray,
    after: Sequence[float] | FloatArray,
    *,
    alpha: float = 0.05,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> RatioTest:
    """Mann-Whitney U on two sets of per-window values, plus a bootstrap interval.

    The estimate is ``median(after) / median(before)``; the interval is the percentile
    bootstrap interval (confidence ``1 - alpha``) of that ratio, resampling the windows of
    each side independently.
    """
    import numpy as np

    a = _clean(before)
    b = _clean(after)
    na, nb = int(a.size), int(b.size)
    if na == 0 or nb == 0:
        return RatioTest(None, None, None, None, na, nb, False, "no values on one side")
    med_a, med_b = float(np.median(a)), float(np.median(b))
    ratio = med_b / med_a if med_a > 0 else None
    if ratio is None:
        return RatioTest(None, None, None, None, na, nb, False, "before is zero")
    if min_p_mann_whitney(na, nb) >= alpha:
        return RatioTest(
            ratio,
            None,
            None,
            None,
            na,
            nb,
            False,
            f"{na} vs {nb} windows cannot reach p < {alpha:g}",
        )
    if np.all(a == a[0]) and np.all(b == b[0]):
        # No spread at all (a deterministic counter): the test is meaningless.
        p_value = 1.0 if a[0] == b[0] else 0.0
        return RatioTest(ratio, ratio, ratio, p_value, na, nb, True)
    p_value = mann_whitney_p(a, b)
    rng = np.random.default_rng(seed)
    boot_a = np.median(a[rng.integers(0, na, (resamples, na))], axis=1)
    boot_b = np.median(b[rng.integers(0, nb, (resamples, nb))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = boot_b / boot_a
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return RatioTest(ratio, None, None, p_value, na, nb, False, "bootstrap undefined")
    lo, hi = np.percentile(ratios, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return RatioTest(ratio, float(lo), float(hi), p_value, na, nb, True)


def signed_rank_cdf(n: int) -> FloatArray:
    """``P(T+ <= s)`` for s = 0 .. n(n+1)/2 under the null (exact, no ties)."""
    import numpy as np

    top = n * (n + 1) // 2
    prob = np.zeros(top + 1)
    prob[0] = 1.0
    for k in range(1, n + 1):
        shifted = np.zeros_like(prob)
        shifted[k:] = prob[:-k]
        prob = 0.5 * (prob + shifted)
    return np.cumsum(prob)


def walsh_interval(diffs: FloatArray, confidence: float) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate and the signed-rank confidence interval of the pseudo-median."""
    import numpy as np

    n = int(diffs.size)
    i, j = np.triu_indices(n)
    walsh = np.sort((diffs[i] + diffs[j]) / 2.0)
    estimate = float(np.median(walsh))
    tail = (1.0 - confidence) / 2.0
    total = walsh.size
    if n <= _EXACT_SIGNED_RANK_MAX_N:
        cdf = signed_rank_cdf(n)
        below = np.nonzero(cdf <= tail)[0]
        if below.size == 0:
            return estimate, -math.inf, math.inf
        c = int(below[-1])  # largest c with P(T+ <= c) <= tail
    else:
        mean = n * (n + 1) / 4.0
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
        c = max(int(math.floor(mean + NormalDist().inv_cdf(tail) * sd)), 0)
    return estimate, float(walsh[c]), float(walsh[total - 1 - c])


def paired_ratio(
    before: Sequence[float] | FloatArray,
    after: Sequence[float] | FloatArray,
    *,
    alpha: float = 0.05,
) -> RatioTest:
    """Wilcoxon signed-rank on per-round log ratios ``log(after_i / before_i)``.

    Rounds where either value is missing or not positive are dropped. The ratio is
    ``exp`` of the Hodges-Lehmann estimate; the interval is exact (confidence
    ``1 - alpha``) and excludes 1 essentially whenever the test rejects.
    """
    import numpy as np

    a = np.asarray(before, dtype=np.float64).ravel()
    b = np.asarray(after, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError("paired samples differ in length")
    keep = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    n = int(keep.sum())
    if n == 0:
        return RatioTest(None, None, None, None, int(a.size), int(b.size), False, "no pairs")
    diffs = np.log(b[keep]) - np.log(a[keep])
    estimate, lo, hi = walsh_interval(diffs, 1.0 - alpha)
    ratio = math.exp(estimate)
    if min_p_signed_rank(n) >= alpha:
        return RatioTest(
            ratio, None, None, None, n, n, False, f"{n} rounds cannot reach p < {alpha:g}"
        )
    if np.all(diffs == 0):
        return RatioTest(ratio, 1.0, 1.0, 1.0, n, n, True)
    p_value = signed_rank_p(diffs)
    return RatioTest(ratio, math.exp(lo), math.exp(hi), p_value, n, n, True)


def beyond(ratio: float, threshold: float) -> bool:
    """Is ``ratio`` outside ``[1/(1+t), 1+t]``?"""
    return ratio > 0 and abs(math.log(ratio)) > math.log1p(threshold)


def classify(
    test: RatioTest,
    *,
    alpha: float,
    threshold: float,
    lower_is_better: bool,
    timing: bool = True,
) -> Verdict:
    """The verdict for one metric (see the module docstring for the definitions)."""
    if not test.testable or test.ratio is None or test.p_value is None:
        return "inconclusive"
    lo = test.ci_low if test.ci_low is not None else -math.inf
    hi = test.ci_high if test.ci_high is not None else math.inf
    significant = test.p_value < alpha and (lo > 1.0 or hi < 1.0)
    if not significant:
        inside = lo >= 1.0 / (1.0 + threshold) and hi <= 1.0 + threshold
        return "no significant change" if inside else "inconclusive"
    if not beyond(test.ratio, threshold):
        return "within noise"
    improved = (test.ratio < 1.0) == lower_is_better
    if timing:
        return "faster" if improved else "slower"
    return "better" if improved else "worse"


def describe_single(
    before: float | None,
    after: float | None,
    *,
    threshold: float,
    lower_is_better: bool,
) -> tuple[float | None, Verdict]:
    """A metric with one value per side and no spread (RSS, a cache hit rate): no test.

    better / worse beyond the threshold, same inside it, inconclusive when a side is
    missing or the ratio is undefined.
    """
    if before is None or after is None or not math.isfinite(before) or not math.isfinite(after):
        return None, "inconclusive"
    if before == 0:
        if after == 0:
            return None, "same"
        return None, "worse" if lower_is_better == (after > 0) else "better"
    ratio = after / before
    if not beyond(ratio, threshold):
        return ratio, "same"
    improved = (ratio < 1.0) == lower_is_better
    return ratio, "better" if improved else "worse"
