"""Checkpoints of a sequential part: cumulative figures read at the edges of its batches.

Between two episodes, at each batch edge (``analysis.summary.batch_bounds`` of the planned
episodes; for a duration run every hundredth of the duration), the part records the
process's CPU time and the values of the pipeline's declared metrics
(:class:`~ctool.model.records.Checkpoint`). ``analysis.summary.window_stats`` turns the
differences of neighbours into per-batch values, so compare can test CPU per episode and
declared metrics like latency. Reading costs one ``metrics()`` call per batch, never one
per episode, and happens between episodes, outside any episode's timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ctool.analysis.summary import batch_bounds
from ctool.model.declared import number_at
from ctool.model.records import Checkpoint, PartRecords

DURATION_CHECKPOINTS = 100
"""A duration run reads its figures this many times over the duration."""


class Checkpointer:
    """Reads the figures at the batch edges of one sequential part."""

    def __init__(
        self,
        records: PartRecords,
        read_metrics: Callable[[], Mapping[str, Any]],
        paths: Sequence[str],
        *,
        episodes: int | None,
        duration_s: float | None,
    ) -> None:
        self.records = records
        self.read_metrics = read_metrics
        self.paths = list(paths)
        self.edges = {hi for _, hi in batch_bounds(episodes)} if episodes else set()
        self.every_ns = int(duration_s * 1e9 / DURATION_CHECKPOINTS) if duration_s else 0
        self.next_ns = 0
        self.failed = False

    def take(self) -> None:
        """Read the figures now (before the first episode, at an edge, at the end)."""
        cpu = time.process_time_ns()
        values: dict[str, float] = {}
        if self.paths and not self.failed:
            try:
                metrics = self.read_metrics()
            except Exception:  # the run's end reads metrics() again and reports the failure
                self.failed = True
            else:
                for path in self.paths:
                    value = number_at(metrics, path)
                    if value is not None:
                        values[path] = value
        marks = self.records.checkpoints
        ok = self.records.ok
        if marks and marks[-1].ok == ok:
            marks[-1] = Checkpoint(ok, cpu, values)
        else:
            marks.append(Checkpoint(ok, cpu, values))

    def start(self, now_ns: int) -> None:
        self.next_ns = now_ns + self.every_ns
        self.take()

    def after_episode(self, now_ns: int) -> None:
        """After each episode: read when an edge is reached (or the time has come)."""
        if self.every_ns:
            if now_ns >= self.next_ns:
                self.next_ns = now_ns + self.every_ns
                self.take()
        elif self.records.ok in self.edges and (
            not self.records.checkpoints or self.records.checkpoints[-1].ok != self.records.ok
        ):
            self.take()

    def finish(self) -> None:
        if not self.records.checkpoints or self.records.checkpoints[-1].ok != self.records.ok:
            self.take()
