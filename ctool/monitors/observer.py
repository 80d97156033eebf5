"""Observers watch a run as it goes: the progress bar, the Prometheus exporter, tests.

The harness calls every observer from the event-loop thread (``on_sample`` from the sampler
thread). An observer must be cheap and must never raise; the harness logs and drops one that
does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ctool.spans import SpanRecord


@runtime_checkable
class RunObserver(Protocol):
    def on_start(self, *, planned_episodes: int | None, pipeline: str) -> None:
        """Before the first measured episode. ``planned_episodes`` is None for duration runs."""

    def on_episode(
        self,
        index: int,
        latency_ns: int,
        spans: list[SpanRecord],
        error: BaseException | None,
    ) -> None:
        """After each measured episode (warm-up episodes are not reported)."""

    def on_sample(
        self,
        *,
        queue_depth: int,
        loop_lag_ms: float,
        cpu_percent: float,
        rss_mb: float,
    ) -> None:
        """Each sampler tick (called from the sampler thread)."""

    def on_metrics(self, metrics: Mapping[str, Any]) -> None:
        """The pipeline's own metrics (``metrics()`` hook), refreshed periodically."""

    def on_finish(self, *, complete: bool) -> None:
        """After the last episode, or when interrupted (``complete=False``)."""
