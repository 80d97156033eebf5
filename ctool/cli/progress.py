"""A live progress bar for long runs: episodes done, live median latency, episodes/s.

A ``RunObserver``. It shows nothing for the first second (short runs stay quiet), draws on
stderr so stdout stays clean for ``--format json``, and disappears when the run ends.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ctool.spans import SpanRecord

SHOW_AFTER_S = 1.0
UPDATE_EVERY_S = 0.2
WINDOW = 2000


class ProgressObserver:
    def __init__(self, console: Console, *, show_after_s: float = SHOW_AFTER_S) -> None:
        self._console = console
        self._show_after = show_after_s
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._planned: int | None = None
        self._recent: deque[int] = deque(maxlen=WINDOW)
        self._done = 0
        self._errors = 0
        self._t0 = perf_counter()
        self._last = 0.0
        self._pipeline = ""

    def on_start(self, *, planned_episodes: int | None, pipeline: str) -> None:
        self._planned = planned_episodes
        self._pipeline = pipeline
        self._t0 = perf_counter()

    def on_episode(
        self, index: int, latency_ns: int, spans: list[SpanRecord], error: BaseException | None
    ) -> None:
        self._done += 1
        if error is None:
            self._recent.append(latency_ns)
        else:
            self._errors += 1
        now = perf_counter()
        if now - self._last < UPDATE_EVERY_S:
            return
        self._last = now
        if self._progress is None:
            if now - self._t0 < self._show_after:
                return
            self._open()
        self._update(now)

    def _open(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("p50 {task.fields[p50]} ms"),
            TextColumn("{task.fields[eps]} episodes/s"),
            TextColumn("{task.fields[errors]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
            refresh_per_second=4,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "profiling", total=self._planned, p50="-", eps="-", errors=""
        )

    def _update(self, now: float) -> None:
        if self._progress is None or self._task is None:
            return
        p50 = statistics.median(self._recent) / 1e6 if self._recent else 0.0
        elapsed = max(now - self._t0, 1e-9)
        self._progress.update(
            self._task,
            completed=self._done,
            p50=f"{p50:.3g}",
            eps=f"{self._done / elapsed:,.0f}",
            errors=f"[red]{self._errors:,} errors" if self._errors else "",
        )

    def on_sample(
        self, *, queue_depth: int, loop_lag_ms: float, cpu_percent: float, rss_mb: float
    ) -> None:
        return None

    def on_metrics(self, metrics: Mapping[str, Any]) -> None:
        return None

    def on_finish(self, *, complete: bool) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
