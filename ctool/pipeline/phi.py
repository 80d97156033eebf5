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
once, each subset's matrices padded with the identity to ``k x k`` so that one batched
``solve`` and one batched Cholesky factorisation cover all of them.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict, deque
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
    rho = float(np.max(np.abs(np.linalg.eigvals(weights)))) if weights.size else 0.0
    if rho <= 0.0:
        return np.zeros_like(weights, dtype=np.float64)
    return np.asarray(weights, dtype=np.float64) * (radius / rho)


def stationary_covariance(a: FloatArray) -> FloatArray:
    """Solve ``S = A S A^T + I`` (discrete Lyapunov) through ``(I - A (x) A) vec S = vec I``."""
    k = a.shape[0]
    eye = np.eye(k)
    system = np.eye(k * k) - np.kron(a, a)
    sigma = np.linalg.solve(system, eye.reshape(-1)).reshape(k, k)
    return 0.5 * (sigma + sigma.T)


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
class _SubsetTable:
    """Gather indices that pad every non-empty proper subset's block to k x k.

    Row ``m - 1`` describes subset mask ``m``: position (a, b) inside the subset's block
    takes element ``(members[a], members[b])`` of a flattened k x k matrix; padding takes
    the extra element ``k*k`` (1.0 on the diagonal, via ``diagonal_pad``) or ``k*k + 1``
    (always 0.0). A covariance padded this way is ``blockdiag(S_MM, I)``: same log det.
    """

    gather: IntArray  # (2^k - 2, k, k) indices into the extended flat matrix
    first: IntArray  # bipartition masks 1 .. 2^(k-1) - 1
    second: IntArray  # their complements
    smaller: FloatArray  # min(|M1|, |M2|) per bipartition


@functools.lru_cache(maxsize=16)
def _subset_table(k: int) -> _SubsetTable:
    count = (1 << k) - 2
    one, zero = k * k, k * k + 1
    gather = np.full((count, k, k), zero, dtype=np.intp)
    for row, mask in enumerate(range(1, (1 << k) - 1)):
        members = np.asarray([i for i in range(k) if mask >> i & 1], dtype=np.intp)
        size = len(members)
        gather[row, :size, :size] = members[:, None] * k + members[None, :]
        pad = np.arange(size, k)
        gather[row, pad, pad] = one
    first = np.arange(1, 1 << (k - 1), dtype=np.intp)
    second = ((1 << k) - 1) ^ first
    popcount = np.array([bin(int(m)).count("1") for m in first])
    smaller = np.minimum(popcount, k - popcount).astype(np.float64)
    return _SubsetTable(gather, first, second, smaller)


def phi_vectorized(a: FloatArray) -> PhiResult:
    """Φ with every subset's conditional entropy in one batched solve and Cholesky."""
    k = _check_system(a)
    table = _subset_table(k)
    sigma = stationary_covariance(a)
    cross = a @ sigma
    s_pad = np.concatenate((sigma.reshape(-1), (1.0, 0.0))).take(table.gather)
    c_pad = np.concatenate((cross.reshape(-1), (0.0, 0.0))).take(table.gather)
    residual = s_pad - c_pad @ np.linalg.solve(s_pad, c_pad.transpose(0, 2, 1))
    # 1/2 log det R = sum(log diag(chol R)); entropy[m - 1] belongs to subset mask m.
    entropy = np.log(np.diagonal(np.linalg.cholesky(residual), axis1=1, axis2=2)).sum(axis=1)
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
        self._times_ns: deque[int] = deque(maxlen=4096)
        self._miss_times_ns: deque[int] = deque(maxlen=4096)

    def system(self, nodes: Sequence[int]) -> FloatArray:
        ordered = sorted(set(nodes))
        return ar1_matrix(self._weights[np.ix_(ordered, ordered)], self._radius)

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
        return result

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
            "p50_ms": _percentile_ms(self._times_ns, 50),
            "p95_ms": _percentile_ms(self._times_ns, 95),
            "miss_p50_ms": _percentile_ms(self._miss_times_ns, 50),
            "miss_p95_ms": _percentile_ms(self._miss_times_ns, 95),
        }
