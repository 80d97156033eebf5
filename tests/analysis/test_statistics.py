from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ctool.analysis.statistics import (
    RatioTest,
    beyond,
    classify,
    describe_single,
    mann_whitney_p,
    mann_whitney_pmf,
    min_p_mann_whitney,
    min_p_signed_rank,
    min_rounds_for,
    paired_ratio,
    signed_rank_cdf,
    signed_rank_p,
    two_sample_ratio,
    walsh_interval,
)


def test_smallest_attainable_p_values() -> None:
    assert min_p_mann_whitney(3, 3) == pytest.approx(0.1)
    assert min_p_mann_whitney(4, 4) == pytest.approx(2 / 70)
    assert min_p_signed_rank(5) == pytest.approx(0.0625)
    assert min_p_signed_rank(6) == pytest.approx(0.03125)
    assert min_rounds_for(0.05) == 6
    assert min_rounds_for(0.01) == 8


@pytest.mark.parametrize("n", [1, 6, 12, 30])
def test_signed_rank_null_distribution_is_exact(n: int) -> None:
    cdf = signed_rank_cdf(n)
    assert cdf.size == n * (n + 1) // 2 + 1
    assert cdf[-1] == pytest.approx(1.0)
    assert cdf[0] == pytest.approx(0.5**n)
    # Symmetric about n(n+1)/4.
    pmf = np.diff(np.concatenate([[0.0], cdf]))
    assert np.allclose(pmf, pmf[::-1])
    if n >= 6:
        # The same tail scipy's exact signed-rank test uses.
        d = np.arange(1, n + 1, dtype=float)
        d[:2] *= -1  # T- = 3
        exact = stats.wilcoxon(d, method="exact").pvalue
        assert exact == pytest.approx(2 * cdf[3])


def test_walsh_interval_covers_the_centre_at_its_confidence() -> None:
    rng = np.random.default_rng(0)
    trials, n, centre = 2000, 10, 0.3
    hits = 0
    for sample in rng.standard_t(4, size=(trials, n)) + centre:
        _, lo, hi = walsh_interval(sample, 0.95)
        hits += lo <= centre <= hi
    # Exact interval: coverage >= 95 % (conservative because T+ is discrete).
    assert 0.94 <= hits / trials <= 0.985


def test_paired_ratio_estimates_a_shared_drift_free_ratio() -> None:
    rng = np.random.default_rng(1)
    machine = np.exp(rng.normal(0, 0.2, 12))  # big drift, shared inside each pair
    a = 2.0 * machine * np.exp(rng.normal(0, 0.01, 12))
    b = 2.0 * 1.1 * machine * np.exp(rng.normal(0, 0.01, 12))
    test = paired_ratio(a, b)
    assert test.testable and test.p_value is not None and test.p_value < 0.01
    assert test.ratio == pytest.approx(1.1, rel=0.02)
    assert test.ci_low is not None and test.ci_high is not None
    assert test.ci_low < 1.1 < test.ci_high


def test_paired_ratio_too_few_rounds_is_untestable() -> None:
    test = paired_ratio([1.0] * 5, [2.0] * 5)
    assert not test.testable
    assert "cannot reach" in test.reason
    assert classify(test, alpha=0.05, threshold=0.05, lower_is_better=True) == "inconclusive"


def test_paired_ratio_drops_pairs_with_missing_values() -> None:
    a = [1.0, 1.0, float("nan"), 1.0, 1.0, 1.0, 1.0, 0.0]
    test = paired_ratio(a, [1.5] * 8)
    assert test.n_before == 6
    assert test.ratio == pytest.approx(1.5)


def test_two_sample_ratio_interval_and_test() -> None:
    rng = np.random.default_rng(2)
    before = 2.0 * np.exp(rng.normal(0, 0.03, 10))
    after = 1.6 * np.exp(rng.normal(0, 0.03, 10))
    test = two_sample_ratio(before, after)
    assert test.testable and test.p_value is not None and test.p_value < 0.001
    assert test.ratio == pytest.approx(float(np.median(after) / np.median(before)))
    assert test.ci_low is not None and test.ci_high is not None
    assert test.ci_low <= test.ratio <= test.ci_high < 1
    # Deterministic: same input, same interval.
    assert two_sample_ratio(before, after) == test


def test_two_sample_ratio_untestable_and_degenerate_cases() -> None:
    assert not two_sample_ratio([1, 2, 3], [4, 5, 6]).testable  # min p 0.1
    assert not two_sample_ratio([], [1.0]).testable
    assert two_sample_ratio([0.0] * 5, [1.0] * 5).reason == "before is zero"
    same = two_sample_ratio([3.0] * 5, [3.0] * 5)
    assert same.p_value == 1.0 and same.ratio == 1.0


def _test(ratio: float, lo: float, hi: float, p: float) -> RatioTest:
    return RatioTest(ratio, lo, hi, p, 10, 10, True)


@pytest.mark.parametrize(
    ("test", "lower_is_better", "timing", "expected"),
    [
        (_test(1.10, 1.05, 1.15, 0.001), True, True, "slower"),
        (_test(0.80, 0.75, 0.85, 0.001), True, True, "faster"),
        (_test(1.10, 1.05, 1.15, 0.001), False, True, "faster"),  # throughput up
        (_test(1.10, 1.05, 1.15, 0.001), True, False, "worse"),  # RSS up
        (_test(1.02, 1.01, 1.03, 0.001), True, True, "within noise"),
        (_test(1.00, 0.98, 1.03, 0.40), True, True, "no significant change"),
        (_test(1.00, 0.90, 1.12, 0.40), True, True, "inconclusive"),
        # Significant by the test but the interval holds 1: not significant.
        (_test(1.08, 0.99, 1.12, 0.03), True, True, "inconclusive"),
        (RatioTest(1.2, None, None, None, 2, 2, False, "few"), True, True, "inconclusive"),
    ],
)
def test_classify_each_verdict(
    test: RatioTest, lower_is_better: bool, timing: bool, expected: str
) -> None:
    verdict = classify(
        test, alpha=0.05, threshold=0.05, lower_is_better=lower_is_better, timing=timing
    )
    assert verdict == expected


def test_threshold_is_symmetric_in_log_space() -> None:
    assert beyond(1.051, 0.05) and not beyond(1.049, 0.05)
    assert beyond(1 / 1.051, 0.05) and not beyond(1 / 1.049, 0.05)
    assert not beyond(0.0, 0.05)


def test_describe_single_values() -> None:
    assert describe_single(100.0, 120.0, threshold=0.05, lower_is_better=True) == (1.2, "worse")
    ratio, verdict = describe_single(0.5, 0.6, threshold=0.05, lower_is_better=False)
    assert verdict == "better" and ratio == pytest.approx(1.2)
    assert describe_single(100.0, 101.0, threshold=0.05, lower_is_better=True)[1] == "same"
    assert describe_single(0.0, 0.6, threshold=0.05, lower_is_better=False) == (None, "better")
    assert describe_single(0.0, 0.0, threshold=0.05, lower_is_better=True) == (None, "same")
    assert describe_single(None, 1.0, threshold=0.05, lower_is_better=True)[1] == "inconclusive"
    assert describe_single(math.nan, 1.0, threshold=0.05, lower_is_better=True)[1] == (
        "inconclusive"
    )


def _samples(rng: np.random.Generator, n: int, ties: bool) -> np.ndarray:
    values = rng.normal(size=n)
    return np.round(values, 1) if ties else values


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n1", "n2"), [(2, 3), (4, 4), (5, 9), (8, 40), (10, 10), (20, 35)])
def test_mann_whitney_matches_scipy(n1: int, n2: int, ties: bool) -> None:
    rng = np.random.default_rng(n1 * 100 + n2)
    for shift in (0.0, 0.5, 1.5):
        a = _samples(rng, n1, ties)
        b = _samples(rng, n2, ties) + shift
        expected = stats.mannwhitneyu(b, a, alternative="two-sided").pvalue
        assert mann_whitney_p(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "ties", "shifts"),
    [
        (6, False, (0.0, 0.3, 1.0)),
        (13, False, (0.0, 0.3, 1.0)),
        (30, False, (0.0, 0.3, 1.0)),
        (60, False, (0.0, 0.3, 1.0)),  # above 50 pairs: the normal approximation
        (8, True, (0.5,)),  # ties, few pairs: exact sign flips (slow in scipy)
        (14, True, (0.0, 0.3, 1.0)),
        (40, True, (0.0, 0.3, 1.0)),
    ],
)
def test_signed_rank_matches_scipy(n: int, ties: bool, shifts: tuple[float, ...]) -> None:
    rng = np.random.default_rng(n)
    for shift in shifts:
        d = _samples(rng, n, ties) + shift
        if ties:
            d[0] = 0.0  # a zero difference, dropped as scipy's zero_method="wilcox" does
        expected = stats.wilcoxon(d).pvalue
        assert signed_rank_p(d) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_mann_whitney_null_distribution_sums_to_one() -> None:
    pmf = mann_whitney_pmf(3, 4)
    assert pmf.sum() == pytest.approx(1.0)
    # U for sizes 3 and 4: 35 arrangements, symmetric, one way to reach 0 and 12.
    assert pmf[0] * 35 == pytest.approx(1) and np.allclose(pmf, pmf[::-1])
