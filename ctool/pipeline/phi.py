"""Φ: integrated information of a coalition, as stochastic interaction at the MIB.

Model. The coalition's ``k <= 8`` most active nodes form a stable linear Gaussian AR(1)
system ``x' = A x + e`` with ``e ~ N(0, I)`` and ``A`` their weight matrix scaled to spectral
radius 0.9. Its stationary covariance ``S`` solves the discrete Lyapunov equation
``S = A S A^T + I``; the lag-one cross-covariance is ``Cov(x', x) = A S``.

Measure. For a part ``M`` the Gaussian conditional entropy is
``H(M' | M) = 1/2 log det R_M + const`` with the residual covariance
``R_M = S_MM - (AS)_MM S_MM^{-1} (AS)_MM^T``. For a bipartition ``P = {M1, M2}`` the
stochastic interaction is ``Φ_SI(P) = H(M1'|M1) + H(M2'|M2) - H(X'|X)``, where
``H(X'|X)`` has residual covariance ``I`` (log det 0) and the ``2πe`` constants cancel.
It is never negative (conditioning on less cannot lower entropy) and it is 0 exactly when
``A`` is block-diagonal along ``P`` (Ay 2001; Barrett & Seth 2011; Mediano et al. 2019).
Values under 1e-12 are rounding noise of an exact 0 and are reported as 0.

MIB. The minimum information bipartition minimises ``Φ_SI(P) / min(|M1|, |M2|)`` over all
``2^(k-1) - 1`` bipartitions; Φ is ``Φ_SI`` there. Bipartitions are enumerated as bit masks
``m`` over nodes ``0..k-2`` (``M1`` = the set bits, ``M2`` = the rest, always holding node
``k-1``). Values within a relative 1e-12 of the minimum count as ties and the first in
enumeration order wins, so the loop and vectorised versions pick the same MIB even when
rounding differs in the last bits.

Two implementations give the same numbers (to ~1e-12): :func:`phi_loop` iterates over the
bipartitions in Python with a matrix inverse per part (the honest "before");
:func:`phi_vectorized` computes the conditional entropy of every non-empty proper subset at
at once: one batched Cholesky factorisation of the joint covariance of ``(x_M, x'_M)`` per
subset size covers every subset of that size.
"""

from __future__ import annotations

import functools
import math
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.intp]

TIE_TOLERANCE = 1e-12
ZERO_TOLERANCE = 1e-12
"""Φ below this is rounding noise of an exactly-zero value (a system that splits along the
MIB yields ~1e-16 with either method, in different last bits); it is reported as 0.0."""


def _clean(value: float) -> float:
    return value if value > ZERO_TOLERANCE else 0.0


@dataclass(frozen=True, slots=True)
class PhiResult:
    phi: float
    """Φ_SI at the minimum information bipartition (nats); never negative."""
    mib: tuple[tuple[int, ...], tuple[int, ...]]
    """The MIB as two tuples of node indices (local 0..k-1, or node ids from the calculator)."""
    normalised: float
    """Φ_SI(MIB) / min(|M1|, |M2|), the quantity the search minimises."""


def ar1_matrix(weights: FloatArray, radius: float = 0.9) -> FloatArray:
    """``weights`` scaled to spectral radius ``radius`` (all zeros stay all zeros)."""
    if not weights.size:
        return np.zeros_like(weights, dtype=np.float64)
    if np.array_equal(weights, weights.T):
        rho = float(np.max(np.abs(np.linalg.eigvalsh(weights))))
    else:
        rho = float(np.max(np.abs(np.linalg.eigvals(weights))))
    if rho <= 0.0:
        return np.zeros_like(weights, dtype=np.float64)
    return np.asarray(weights, dtype=np.float64) * (radius / rho)


def stationary_covariance(a: FloatArray) -> FloatArray:
    """Solve ``S = A S A^T + I`` (discrete Lyapunov).

    Symmetric ``A = V diag(l) V^T`` (the pipeline's case: TIG weights are symmetric) has the
    closed form ``S = V diag(1 / (1 - l^2)) V^T``; any other ``A`` goes through the
    Kronecker form ``(I - A (x) A) vec S = vec I``.
    """
    k = a.shape[0]
    if np.array_equal(a, a.T):
        eigenvalues, vectors = np.linalg.eigh(a)
        sigma = (vectors / (1.0 - eigenvalues * eigenvalues)) @ vectors.T
    else:
        system = np.eye(k * k) - np.kron(a, a)
        sigma = np.linalg.solve(system, np.eye(k).reshape(-1)).reshape(k, k)
    symmetric: FloatArray = 0.5 * (sigma + sigma.T)
    return symmetric


def _check_system(a: FloatArray) -> int:
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
        raise ValueError(f"Φ needs a square system of at least 2 nodes, got shape {a.shape}")
    return int(a.shape[0])


def _select_mib(normalised: Sequence[float]) -> int:
    """Index of the minimum, first in enumeration order among values tied within 1e-12."""
    best = min(normalised)
    limit = best + TIE_TOLERANCE * max(1.0, abs(best))
    for index, value in enumerate(normalised):
        if value <= limit:
            return index
    raise AssertionError("unreachable: the minimum is always within the limit")


def _bipartition(mask: int, k: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    first = tuple(i for i in range(k) if mask >> i & 1)
    second = tuple(i for i in range(k) if not mask >> i & 1)
    return first, second


def phi_loop(a: FloatArray) -> PhiResult:
    """Φ with one Python iteration per bipartition (the baseline implementation)."""
    k = _check_system(a)
    sigma = stationary_covariance(a)
    cross = a @ sigma
    values: list[float] = []
    normalised: list[float] = []
    for mask in range(1, 1 << (k - 1)):
        parts = _bipartition(mask, k)
        interaction = 0.0
        for part in parts:
            index = np.ix_(part, part)
            s_part = sigma[index]
            c_part = cross[index]
            residual = s_part - c_part @ np.linalg.inv(s_part) @ c_part.T
            interaction += 0.5 * math.log(float(np.linalg.det(residual)))
        values.append(interaction)
        normalised.append(interaction / min(len(parts[0]), len(parts[1])))
    chosen = _select_mib(normalised)
    return PhiResult(
        phi=_clean(values[chosen]),
        mib=_bipartition(chosen + 1, k),
        normalised=normalised[chosen],
    )


@dataclass(frozen=True, slots=True)
class _SizeGroup:
    size: int
    rows: IntArray  # positions (mask - 1) of this size's subsets in the entropy vector
    gather: IntArray  # (count, 2 size, 2 size) indices into the flattened 2k x 2k joint


@dataclass(frozen=True, slots=True)
class _SubsetTable:
    """Per subset size: which subsets, and where their joint covariance blocks sit."""

    groups: tuple[_SizeGroup, ...]
    first: IntArray  # bipartition masks 1 .. 2^(k-1) - 1
    second: IntArray  # their complements
    smaller: FloatArray  # min(|M1|, |M2|) per bipartition


@functools.lru_cache(maxsize=16)
def _subset_table(k: int) -> _SubsetTable:
    width = 2 * k
    by_size: dict[int, tuple[list[int], list[IntArray]]] = {}
    for mask in range(1, (1 << k) - 1):
        members = [i for i in range(k) if mask >> i & 1]
        joint = np.asarray(members + [i + k for i in members], dtype=np.intp)
        rows, blocks = by_size.setdefault(len(members), ([], []))
        rows.append(mask - 1)
        blocks.append(joint[:, None] * width + joint[None, :])
    groups = tuple(
        _SizeGroup(size, np.asarray(rows, dtype=np.intp), np.stack(blocks))
        for size, (rows, blocks) in sorted(by_size.items())
    )
    first = np.arange(1, 1 << (k - 1), dtype=np.intp)
    second = ((1 << k) - 1) ^ first
    popcount = np.array([bin(int(m)).count("1") for m in first])
    smaller = np.minimum(popcount, k - popcount).astype(np.float64)
    return _SubsetTable(groups, first, second, smaller)


def _subset_entropies(sigma: FloatArray, cross: FloatArray, table: _SubsetTable) -> FloatArray:
    """``1/2 log det R_M`` for every subset mask ``M`` (at position ``M - 1``).

    The joint covariance of ``(x_M, x'_M)`` is ``[[S_MM, C_MM^T], [C_MM, S_MM]]``. Its
    Cholesky factor's first ``|M|`` diagonal entries factor ``S_MM``; the last ``|M|``
    factor the Schur complement ``S_MM - C_MM S_MM^{-1} C_MM^T = R_M``. So one batched
    Cholesky per subset size (one gather, one LAPACK call over all subsets of that size)
    gives every conditional entropy.
    """
    k = sigma.shape[0]
    joint = np.empty((2 * k, 2 * k))
    joint[:k, :k] = sigma
    joint[k:, k:] = sigma
    joint[:k, k:] = cross.T
    joint[k:, :k] = cross
    flat = joint.reshape(-1)
    # Row m - 1 holds the diagonal of R_M's Cholesky factor, padded with ones (log 1 = 0).
    diagonals = np.ones(((1 << k) - 2, k - 1))
    for group in table.groups:
        factor = np.linalg.cholesky(flat.take(group.gather))
        diagonals[group.rows, : group.size] = np.diagonal(factor, axis1=1, axis2=2)[:, group.size :]
    entropy: FloatArray = np.log(diagonals).sum(axis=1)
    return entropy


def phi_vectorized(a: FloatArray) -> PhiResult:
    """Φ with every subset's conditional entropy computed in one vectorised pass."""
    k = _check_system(a)
    table = _subset_table(k)
    sigma = stationary_covariance(a)
    entropy = _subset_entropies(sigma, a @ sigma, table)
    values = entropy[table.first - 1] + entropy[table.second - 1]
    normalised = values / table.smaller
    best = float(normalised.min())
    limit = best + TIE_TOLERANCE * max(1.0, abs(best))
    chosen = int(np.flatnonzero(normalised <= limit)[0])
    return PhiResult(
        phi=_clean(float(values[chosen])),
        mib=_bipartition(chosen + 1, k),
        normalised=float(normalised[chosen]),
    )


PHI_METHODS: dict[str, Callable[[FloatArray], PhiResult]] = {
    "loop": phi_loop,
    "vectorized": phi_vectorized,
}


TIMING_WINDOW = 4096
"""Timing samples kept: the most recent requests."""


class TimingRing:
    """The most recent ``size`` nanosecond timings in a preallocated array: memory is fixed
    from the start (a ``deque(maxlen=...)`` of ints grows by an int object and a slot per
    request until it is full, which at the reference pipeline's ~0.14 requests per episode
    takes some 29,000 episodes -- a slow climb a leak check sees)."""

    __slots__ = ("_values", "_next", "_filled")

    def __init__(self, size: int = TIMING_WINDOW) -> None:
        self._values = array("q", bytes(8 * size))
        self._next = 0
        self._filled = 0

    def append(self, value: int) -> None:
        self._values[self._next] = value
        self._next = (self._next + 1) % len(self._values)
        self._filled = min(self._filled + 1, len(self._values))

    def values(self) -> list[int]:
        return list(self._values[: self._filled])

    def __len__(self) -> int:
        return self._filled


def _percentile_ms(samples_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds (0.0 when empty)."""
    if not samples_ns:
        return 0.0
    ordered = sorted(samples_ns)
    rank = max(0, math.ceil(q / 100.0 * len(ordered)) - 1)
    return ordered[rank] / 1e6


class PhiCalculator:
    """Φ of coalitions of the TIG fabric, with an optional LRU cache keyed by the node set.

    The weights are static, so a coalition's node set determines its Φ. Nodes are always
    taken in ascending order, so a cached value is bit-identical to a recomputed one.
    Timing samples are kept for the most recent 4096 requests (bounded memory).
    """

    def __init__(
        self,
        weights: FloatArray,
        *,
        method: str,
        cache: bool,
        cache_size: int,
        radius: float,
        max_nodes: int = 8,
    ) -> None:
        self._weights = weights
        self._compute = PHI_METHODS[method]
        self.method = method
        self.cache_enabled = cache
        self._cache_size = cache_size
        self._cache: OrderedDict[frozenset[int], PhiResult] = OrderedDict()
        self._radius = radius
        _subset_table(max_nodes)  # built once here, not inside the first timed request
        self.requests = 0
        self.hits = 0
        self.misses = 0
        self.computations = 0
        self._times_ns = TimingRing()
        self._miss_times_ns = TimingRing()
        self._last: PhiResult | None = None
        self.fallbacks = 0
        self.stale_fallbacks = 0

    def system(self, nodes: Sequence[int]) -> FloatArray:
        ordered = sorted(set(nodes))
        return ar1_matrix(self._weights[ordered][:, ordered], self._radius)

    def _evaluate(self, key: frozenset[int]) -> PhiResult:
        ordered = sorted(key)
        local = self._compute(self.system(ordered))
        first, second = local.mib
        return PhiResult(
            phi=local.phi,
            mib=(tuple(ordered[i] for i in first), tuple(ordered[i] for i in second)),
            normalised=local.normalised,
        )

    def compute(self, nodes: Sequence[int]) -> PhiResult:
        start = perf_counter_ns()
        key = frozenset(nodes)
        self.requests += 1
        cache = self._cache
        result = cache.get(key) if self.cache_enabled else None
        if result is not None:
            cache.move_to_end(key)
            self.hits += 1
            self._times_ns.append(perf_counter_ns() - start)
            self._last = result
            return result
        self.misses += 1
        self.computations += 1
        result = self._evaluate(key)
        if self.cache_enabled:
            cache[key] = result
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        elapsed = perf_counter_ns() - start
        self._times_ns.append(elapsed)
        self._miss_times_ns.append(elapsed)
        self._last = result
        return result

    def fallback(self, nodes: Sequence[int]) -> PhiResult:
        """What stands in for Φ of ``nodes`` when computing it failed (the circuit breaker):
        the cached value for this node set, bit-identical to a computed one; without one,
        the last Φ computed for any coalition (stale: counted); before any, 0."""
        self.fallbacks += 1
        cached = self._cache.get(frozenset(nodes))
        if cached is not None:
            return cached
        self.stale_fallbacks += 1
        return self._last if self._last is not None else PhiResult(0.0, ((), ()), 0.0)

    def stats(self) -> dict[str, object]:
        return {
            "method": self.method,
            "cache": self.cache_enabled,
            "requests": self.requests,
            "computations": self.computations,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "hit_rate": self.hits / self.requests if self.requests else 0.0,
            "cache_entries": len(self._cache),
            "p50_ms": _percentile_ms(self._times_ns.values(), 50),
            "p95_ms": _percentile_ms(self._times_ns.values(), 95),
            "miss_p50_ms": _percentile_ms(self._miss_times_ns.values(), 50),
            "miss_p95_ms": _percentile_ms(self._miss_times_ns.values(), 95),
            "fallbacks": self.fallbacks,
            "stale_fallbacks": self.stale_fallbacks,
        }
