"""Φ (stochastic interaction at the MIB): its defining properties and its two implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from ctool.pipeline.phi import (
    PhiCalculator,
    ar1_matrix,
    phi_loop,
    phi_vectorized,
    stationary_covariance,
)

METHODS = [phi_loop, phi_vectorized]


def random_stable(rng: np.random.Generator, k: int, *, symmetric: bool = False) -> np.ndarray:
    weights = rng.normal(size=(k, k))
    if symmetric:
        weights = weights + weights.T
    return ar1_matrix(weights, float(rng.uniform(0.2, 0.95)))


def test_lyapunov_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    for k in range(2, 9):
        a = random_stable(rng, k)
        expected = solve_discrete_lyapunov(a, np.eye(k))
        np.testing.assert_allclose(stationary_covariance(a), expected, rtol=1e-10, atol=1e-12)


def test_two_nodes_matches_closed_form() -> None:
    """k = 2 has one bipartition: Φ = 1/2 log(R0 R1), R_i = s_ii - (AS)_ii^2 / s_ii."""
    a = np.array([[0.5, 0.3], [0.2, 0.4]])
    s = solve_discrete_lyapunov(a, np.eye(2))
    c = a @ s
    residuals = [s[i, i] - c[i, i] ** 2 / s[i, i] for i in range(2)]
    expected = 0.5 * math.log(residuals[0] * residuals[1])
    for method in METHODS:
        result = method(a)
        assert result.phi == pytest.approx(expected, rel=1e-12)
        assert result.mib == ((0,), (1,))


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_phi_is_never_negative(method) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    for k in range(2, 9):
        for _ in range(6):
            assert method(random_stable(rng, k)).phi >= 0.0
    # The zero system and a diagonal one sit on the boundary: 0 up to rounding, never below.
    for boundary in (np.zeros((4, 4)), np.diag([0.5, -0.3, 0.8])):
        assert 0.0 <= method(boundary).phi <= 1e-12


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_block_diagonal_system_has_zero_phi(method) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    for k, split in [(2, 1), (5, 2), (6, 3), (8, 3), (8, 4)]:
        a = np.zeros((k, k))
        a[:split, :split] = rng.uniform(0.5, 1.0, (split, split))
        a[split:, split:] = rng.uniform(0.5, 1.0, (k - split, k - split))
        # Scatter the blocks over the node labels so the split is not simply a prefix.
        perm = rng.permutation(k)
        a = ar1_matrix(a[np.ix_(perm, perm)])
        result = method(a)
        assert result.phi <= 1e-12
        blocks = {frozenset(result.mib[0]), frozenset(result.mib[1])}
        first_block = frozenset(int(np.flatnonzero(perm == i)[0]) for i in range(split))
        assert first_block in blocks


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_fully_coupled_system_has_positive_phi(method) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    for k in range(2, 9):
        weights = rng.uniform(0.5, 1.0, (k, k))
        assert method(ar1_matrix(weights + weights.T)).phi > 1e-3


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_phi_is_invariant_under_relabelling(method) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(13)
    for k in range(2, 9):
        a = random_stable(rng, k)
        reference = method(a)
        for _ in range(3):
            perm = rng.permutation(k)
            relabelled = method(a[np.ix_(perm, perm)])
            assert relabelled.phi == pytest.approx(reference.phi, rel=1e-9, abs=1e-12)
            # The MIB is the same cut, written in the new labels.
            mapped = {frozenset(int(perm[i]) for i in part) for part in relabelled.mib}
            assert mapped == {frozenset(part) for part in reference.mib}


def test_vectorized_equals_loop_on_random_stable_systems() -> None:
    rng = np.random.default_rng(2024)
    for k in range(2, 9):
        for trial in range(8):
            a = random_stable(rng, k, symmetric=trial % 2 == 0)
            loop, vectorized = phi_loop(a), phi_vectorized(a)
            assert vectorized.phi == pytest.approx(loop.phi, rel=1e-9, abs=1e-12)
            assert vectorized.normalised == pytest.approx(loop.normalised, rel=1e-9, abs=1e-12)
            assert vectorized.mib == loop.mib


def test_the_search_is_exhaustive_over_all_bipartitions() -> None:
    """Brute force over every bipartition agrees with the MIB both methods report."""
    rng = np.random.default_rng(17)
    k = 6
    a = random_stable(rng, k)
    s = stationary_covariance(a)
    c = a @ s

    def entropy(part: tuple[int, ...]) -> float:
        idx = np.ix_(part, part)
        r = s[idx] - c[idx] @ np.linalg.inv(s[idx]) @ c[idx].T
        return 0.5 * math.log(np.linalg.det(r))

    best = math.inf
    count = 0
    for size in range(1, k):
        for first in itertools.combinations(range(k), size):
            if k - 1 in first:
                continue  # each bipartition once: the second part holds the last node
            second = tuple(i for i in range(k) if i not in first)
            count += 1
            value = (entropy(first) + entropy(second)) / min(len(first), len(second))
            best = min(best, value)
    assert count == 2 ** (k - 1) - 1
    for method in METHODS:
        assert method(a).normalised == pytest.approx(best, rel=1e-9)


def _calculator(cache: bool, size: int = 256) -> PhiCalculator:
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 1.0, (12, 12))
    weights = np.triu(weights, 1)
    weights = weights + weights.T
    return PhiCalculator(
        weights, method="vectorized", cache=cache, cache_size=size, radius=0.9, max_nodes=8
    )


def test_cache_hits_and_misses_are_counted() -> None:
    calc = _calculator(cache=True)
    keys = [(0, 1, 2, 3), (4, 5, 6), (3, 2, 1, 0), (0, 1, 2, 3), (7, 8), (6, 5, 4)]
    results = [calc.compute(key) for key in keys]
    assert (calc.requests, calc.hits, calc.misses, calc.computations) == (6, 3, 3, 3)
    stats = calc.stats()
    assert stats["cache_hits"] == 3 and stats["cache_misses"] == 3
    assert stats["hit_rate"] == pytest.approx(0.5)
    # A hit returns exactly what was computed (same node order, same floats).
    assert results[2] is results[0] and results[3] is results[0]
    uncached = _calculator(cache=False)
    for key in keys:
        assert uncached.compute(key) == calc.compute(key)
    assert (uncached.hits, uncached.misses, uncached.computations) == (0, 6, 6)
    assert uncached.stats()["hit_rate"] == 0.0


def test_cache_is_lru_bounded() -> None:
    calc = _calculator(cache=True, size=2)
    for key in [(0, 1), (2, 3), (0, 1), (4, 5), (2, 3), (0, 1)]:
        calc.compute(key)
    # (0,1) miss, (2,3) miss, (0,1) hit, (4,5) miss evicts (2,3), (2,3) miss evicts (0,1),
    # (0,1) miss.
    assert (calc.hits, calc.misses) == (1, 5)
    assert calc.stats()["cache_entries"] == 2


def test_calculator_reports_node_ids_in_the_mib() -> None:
    calc = _calculator(cache=True)
    result = calc.compute((9, 3, 7, 1))
    assert sorted(result.mib[0] + result.mib[1]) == [1, 3, 7, 9]
    assert result.phi > 0.0
