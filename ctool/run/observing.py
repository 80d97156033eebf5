"""What a run says as it goes: its warnings (:class:`Notices`), its observers
(:class:`Observers`: every call guarded, a failing observer dropped with a warning) and the
pipeline's metrics (:class:`MetricsReader`, with the pump that hands them to observers once a
second).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ctool.monitors.observer import RunObserver
from ctool.workload.loader import PipelineAdapter

Warn = Callable[[str], None]
METRICS_EVERY_S = 1.0


class Notices:
    """The run's warnings: each said at once (``warn``) and kept for the report."""

    def __init__(self, warn: Warn) -> None:
        self.say = warn
        self.warnings: list[str] = []

    def __call__(self, message: str) -> None:
        self.warnings.append(message)
        self.say(message)


class Observers:
    """The run's observers. A call that raises drops that observer, with a warning."""

    def __init__(self, observers: Sequence[RunObserver], notices: Notices) -> None:
        self.live = list(observers)
        self.notices = notices

    def __bool__(self) -> bool:
        return bool(self.live)

    def failed(self, observer: RunObserver, exc: BaseException) -> None:
        if observer in self.live:
            self.live.remove(observer)
        self.notices(
            f"observer {type(observer).__name__} failed and was dropped: "
            f"{type(exc).__name__}: {exc}"
        )

    def _each(self, call: Callable[[RunObserver], object]) -> None:
        for observer in list(self.live):
            try:
                call(observer)
            except Exception as exc:
                self.failed(observer, exc)

    def start(self, *, planned_episodes: int | None, pipeline: str) -> None:
        self._each(lambda o: o.on_start(planned_episodes=planned_episodes, pipeline=pipeline))

    def episode(self, index: int, latency_ns: int, *, skip_exporters: bool = False) -> None:
        """An episode measured elsewhere (a worker process), seen when its part came back.
        ``skip_exporters``: not for observers that serve the replicas' own exporters (Dask
        replicas export their episodes themselves: ``set_targets``)."""
        for observer in list(self.live):
            if skip_exporters and hasattr(observer, "set_targets"):
                continue
            try:
                observer.on_episode(index, latency_ns, [], None)
            except Exception as exc:
                self.failed(observer, exc)

    def metrics(self, values: dict[str, Any]) -> None:
        self._each(lambda o: o.on_metrics(values))

    def finish(self, *, complete: bool) -> None:
        self._each(lambda o: o.on_finish(complete=complete))


class MetricsReader:
    """The pipeline's ``metrics()``: read guarded (a failure is a warning and ``{}``);
    ``final`` holds the values read at the end of the run (``read_final``)."""

    def __init__(self, adapter: PipelineAdapter, notices: Notices) -> None:
        self.adapter = adapter
        self.notices = notices
        self.final: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        try:
            return self.adapter.metrics()
        except Exception as exc:
            self.notices(f"the pipeline's metrics() failed: {type(exc).__name__}: {exc}")
            return {}

    def read_final(self) -> None:
        """Once: the values at the end of the run (kept by a later call, e.g. on the way
        out of an interrupted run)."""
        if not self.final:
            self.final = self.read()

    @contextlib.asynccontextmanager
    async def pump(self, observers: Observers) -> AsyncIterator[None]:
        """While inside: the metrics handed to ``observers`` once a second (if any)."""
        task = None
        if observers:
            task = asyncio.get_running_loop().create_task(self._pump(observers))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    async def _pump(self, observers: Observers) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY_S)
            observers.metrics(self.read())
