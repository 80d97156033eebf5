"""The resilience mechanisms of the reference pipeline (the ``resilient`` preset).

Each is its own setting (docs/pipeline.md, "Resilience"), off in ``baseline`` and
``optimized``, so its effect under a fault can be measured alone:

* :class:`HandOff` -- every hand-off between stages passes through
  ``ctool.fault_point(name, value)``; with ``handoff_retries`` > 0 a transient error
  (:data:`TRANSIENT`) raised there is retried with exponential backoff (``retry_backoff_ms``,
  doubling, awaited); with ``stage_timeout_ms`` > 0 a hand-off that has not delivered within
  that wall time, retries and backoff included, raises :class:`StageTimeout` instead of
  passing on a late value.
* :class:`CircuitBreaker` -- around Φ (``phi_breaker``): ``phi_breaker_failures``
  consecutive failures (an exception, a non-finite Φ, or a Φ slower than
  ``stage_timeout_ms``) open it; a failed call, and every call while it is open, gets the
  cached value instead; after ``phi_breaker_reset_ms`` one trial call is let through
  (half-open), and its success closes the breaker.
* :func:`aggregate` -- how ESGT combines its coalition's node reports (``esgt_aggregation``):
  ``mean`` (a NaN or outlier report moves it), ``median`` or ``trimmed`` (a 25 % trimmed
  mean), both after rejecting non-finite reports. Honest reports are all equal, and all
  three return that value bit for bit.
* :class:`Admission` -- a bounded number of episodes inside the pipeline at once
  (``max_in_flight``); further ones wait their turn (backpressure), first come first served.

Without faults none of them changes an output: the resilient preset's digest equals the
optimized preset's (tests/pipeline/test_resilience.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ctool.faults import fault_point

T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
"""Errors a hand-off retries: a lost or refused connection, a timed-out call."""


class StageTimeout(TimeoutError):
    """A hand-off or Φ did not deliver within ``stage_timeout_ms``."""


class HandOff:
    """A hand-off between stages: the fault point, and retries and a timeout if set."""

    def __init__(self, *, retries: int, backoff_ms: float, timeout_ms: float) -> None:
        self.retries = retries
        self.backoff_s = backoff_ms / 1000.0
        self.timeout_s = timeout_ms / 1000.0
        self.retried = 0
        self.recovered = 0
        self.timeouts = 0
        self.plain = retries == 0 and timeout_ms == 0.0
        """No mechanism on: the hand-off is the fault point alone."""

    async def __call__(self, name: str, value: T) -> T:
        if self.plain:
            return fault_point(name, value)
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                result = fault_point(name, value)
            except TRANSIENT:
                if attempt >= self.retries:
                    raise
                delay = self.backoff_s * (1 << attempt)
                attempt += 1
                self.retried += 1
                self._check(name, start, delay)
                await asyncio.sleep(delay)
                continue
            self._check(name, start, 0.0)
            self.recovered += attempt > 0
            return result

    def _check(self, name: str, start: float, ahead_s: float) -> None:
        if self.timeout_s and time.monotonic() + ahead_s - start > self.timeout_s:
            self.timeouts += 1
            raise StageTimeout(f"hand-off {name} took over {1000 * self.timeout_s:g} ms")

    def stats(self) -> dict[str, Any]:
        return {"retries": self.retried, "recovered": self.recovered, "timeouts": self.timeouts}


class CircuitBreaker:
    """Closed -> open after ``failures`` consecutive failures -> half-open after ``reset_s``
    (one trial call) -> closed on its success, open again on its failure.

    A failure is an exception from the guarded call or a result ``valid`` rejects; both
    return the fallback. A call that succeeds but takes longer than ``timeout_ms`` also
    counts as a failure (the breaker opens if the call keeps being slow), but its result is
    kept: on one thread a late result has already cost its time, and it is the right one.
    """

    def __init__(self, *, failures: int, reset_ms: float, timeout_ms: float) -> None:
        self.threshold = failures
        self.reset_s = reset_ms / 1000.0
        self.timeout_s = timeout_ms / 1000.0
        self.state = "closed"
        self.consecutive = 0
        self.opened_at = 0.0
        self.failures = 0
        self.slow = 0
        self.opened = 0
        self.short_circuits = 0
        self.fallbacks = 0

    def call(
        self, compute: Callable[[], T], fallback: Callable[[], T], valid: Callable[[T], bool]
    ) -> T:
        """``compute()``, or ``fallback()`` when it fails or the breaker is open."""
        if self.state == "open":
            if time.monotonic() - self.opened_at < self.reset_s:
                self.short_circuits += 1
                self.fallbacks += 1
                return fallback()
            self.state = "half-open"
        start = time.monotonic()
        try:
            value = compute()
        except Exception:  # any failure of the guarded call counts
            value = None
        if value is None or not valid(value):
            self._failure()
            self.fallbacks += 1
            return fallback()
        if self.timeout_s and time.monotonic() - start > self.timeout_s:
            self.slow += 1
            self._failure()
        else:
            self.state = "closed"
            self.consecutive = 0
        return value

    def _failure(self) -> None:
        self.failures += 1
        self.consecutive += 1
        if self.state == "half-open" or self.consecutive >= self.threshold:
            if self.state != "open":
                self.opened += 1
            self.state = "open"
            self.opened_at = time.monotonic()

    def stats(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "failures": self.failures,
            "slow": self.slow,
            "opened": self.opened,
            "short_circuits": self.short_circuits,
            "fallbacks": self.fallbacks,
        }


AGGREGATIONS = ("mean", "median", "trimmed")
TRIM = 0.25
"""Share of reports dropped at each end by the trimmed mean."""


def _centred_mean(values: Sequence[float]) -> float:
    """The mean as ``x0 + mean(x - x0)``: exactly ``x0`` when every value equals it."""
    if not values:
        return math.nan
    first = values[0]
    return first + math.fsum(v - first for v in values) / len(values)


def aggregate(reports: Sequence[float], how: str) -> float:
    """Combine node reports: ``mean`` of all; ``median`` or ``trimmed`` of the finite
    numbers among them (NaN when there is none)."""
    if how == "mean":
        return _centred_mean(reports)
    if not isinstance(reports, (list, tuple)):
        reports = ()  # dropped or replaced by something that is not a list of reports
    finite = sorted(r for r in reports if isinstance(r, (int, float)) and math.isfinite(r))
    if not finite:
        return math.nan
    if how == "median":
        middle = len(finite) // 2
        if len(finite) % 2:
            return finite[middle]
        return _centred_mean(finite[middle - 1 : middle + 1])
    cut = int(len(finite) * TRIM)
    return _centred_mean(finite[cut : len(finite) - cut])


class Admission:
    """At most ``limit`` episodes inside the pipeline; the rest wait in arrival order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore = asyncio.Semaphore(limit) if limit else None
        self.waited = 0
        self.max_waiting = 0
        self._waiting = 0

    async def run(self, episode: Callable[[], Awaitable[T]]) -> T:
        """``await episode()`` once a place is free."""
        if self._semaphore is None:
            return await episode()
        if self._semaphore.locked():
            self.waited += 1
            self._waiting += 1
            self.max_waiting = max(self.max_waiting, self._waiting)
            try:
                await self._semaphore.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._semaphore.acquire()
        try:
            return await episode()
        finally:
            self._semaphore.release()

    def stats(self) -> dict[str, Any]:
        return {
            "max_in_flight": self.limit,
            "waited": self.waited,
            "max_waiting": self.max_waiting,
        }
