"""The replica side of ``--executor dask``: runs inside a Dask worker process.

The parent submits plain task functions, each pinned to one worker:

* :func:`start_replica` builds the pipeline, runs the warm-up and keeps the replica in this
  worker process (``_REPLICAS``, keyed by the run's id) with its own event loop on its own
  thread, so that one pipeline object serves every scaling step, as a ``--workers`` worker
  process does. It returns the replica's :class:`ReplicaInfo` (host, pid, versions).
* :func:`run_replica` runs the sequential part on that loop and returns its
  ``PartRecords``: every latency, measured on this machine's clock. While it runs it polls the
  run's Dask ``Event`` (``stop_event_name``): when the parent is interrupted it sets the event
  and the part ends with what it measured so far.
* :func:`stop_replica` closes the pipeline and the loop, and forgets the replica.

With ``metrics`` the replica serves its own Prometheus exporter on the worker's host (port 0:
a free one), whose address ``start_replica`` returns; the parent lists it for Prometheus.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
import threading
from typing import Any

from ctool.model.records import PartRecords
from ctool.run.replicas import ReplicaInfo, local_info, write_samples
from ctool.run.workers import WorkerSpec

STOP_POLL_S = 0.2
METRICS_EVERY_S = 1.0

_REPLICAS: dict[str, _Replica] = {}
_LOCK = threading.Lock()


class _Replica:
    def __init__(self, spec: WorkerSpec, metrics: dict[str, Any] | None) -> None:
        self.spec = spec
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ctool-replica")
        self.thread.daemon = True
        self.thread.start()
        self.exporter: Any = None
        self.sampler: Any = None
        self.pump: asyncio.Task[None] | None = None
        self.metrics = metrics
        self.adapter: Any = None
        self.driver: Any = None
        self.lag_ms = 0.0
        self.call(self._build())

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _build(self) -> None:
        from ctool.run.shapes import LoadDriver
        from ctool.workload.loader import build_pipeline

        spec = self.spec
        self.adapter = build_pipeline(
            spec.pipeline, seed=spec.seed, preset=spec.preset, settings=spec.settings
        )
        self.driver = LoadDriver(self.adapter)
        await self.driver.warmup(spec.warmup)
        if self.metrics is not None:
            self._export(self.metrics)

    def _export(self, metrics: dict[str, Any]) -> None:
        """This replica's own exporter, sampler and metrics pump (after the warm-up)."""
        from ctool.exporters.prometheus import PrometheusObserver
        from ctool.monitors.sampler import ResourceSampler

        exporter = PrometheusObserver(
            0, address=str(metrics["host"]), linger_s=float(metrics.get("linger_s", 0.0))
        )
        self.exporter = exporter
        exporter.on_start(planned_episodes=None, pipeline=self.spec.pipeline)
        self.driver.runner.observers.append(exporter)
        self.sampler = ResourceSampler(
            queue_depth=self.driver.book.queue_depth,
            loop_lag_ms=lambda: self.lag_ms,
            observers=[exporter],
        )
        self.sampler.start()
        self.pump = asyncio.get_running_loop().create_task(self._pump(exporter))

    async def _pump(self, exporter: Any) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY_S)
            with contextlib.suppress(Exception):
                exporter.on_metrics(self.adapter.metrics())

    def run(self, command: dict[str, Any], stop: Any) -> PartRecords:
        task_box: list[asyncio.Task[PartRecords]] = []
        future: concurrent.futures.Future[PartRecords] = asyncio.run_coroutine_threadsafe(
            self._run(command, task_box), self.loop
        )
        while True:
            try:
                return future.result(timeout=STOP_POLL_S)
            except concurrent.futures.TimeoutError:
                if stop is not None and stop.is_set() and task_box:
                    self.loop.call_soon_threadsafe(task_box[0].cancel)

    async def _run(
        self, command: dict[str, Any], task_box: list[asyncio.Task[PartRecords]]
    ) -> PartRecords:
        from ctool.monitors.watchdog import LoopWatchdog, pipeline_roots

        spec = self.spec
        watchdog = LoopWatchdog(
            threshold_ms=spec.block_threshold_ms, user_roots=pipeline_roots(spec.pipeline)
        )
        watchdog.start()
        task = asyncio.get_running_loop().create_task(
            self.driver.sequential(
                episodes=command.get("episodes"),
                duration_s=command.get("duration_s"),
                digest=True,  # every part calls outputs(), as one process does
            )
        )
        task_box.append(task)
        try:
            part: PartRecords = await task
        except asyncio.CancelledError:
            part = self.driver.book.abandon()[0]
            part.extra["partial"] = True
        finally:
            self.lag_ms = watchdog.last_lag_ms
            monitor = watchdog.stop()
        part.monitor = monitor
        part.metrics = self.adapter.metrics()
        part.pid = os.getpid()
        write_samples(spec.samples_dir, str(command.get("tag", "part")), part)
        return part

    def close(self) -> None:
        try:
            if self.pump is not None:
                self.loop.call_soon_threadsafe(self.pump.cancel)
            if self.adapter is not None:
                self.call(self.adapter.aclose())
        finally:
            if self.sampler is not None:
                self.sampler.stop()
            if self.exporter is not None:
                with contextlib.suppress(Exception):
                    self.exporter.on_metrics(self.adapter.metrics())
                self.exporter.on_finish(complete=True)  # lingers until scraped, if asked
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)


def _add_sys_path(entries: list[str]) -> None:
    for entry in reversed(entries):
        if entry not in sys.path and os.path.isdir(entry):
            sys.path.insert(0, entry)


def start_replica(
    run_id: str, index: int, spec: WorkerSpec, address: str, metrics: dict[str, Any] | None
) -> dict[str, Any]:
    """Build and warm up replica ``index`` of run ``run_id`` here; its info (and exporter:
    ``metrics`` = ``{"host": ..., "linger_s": ...}``)."""
    _add_sys_path(spec.sys_path)
    replica = _Replica(spec, metrics)
    with _LOCK:
        _REPLICAS[f"{run_id}/{index}"] = replica
    info: ReplicaInfo = local_info(index, spec.pipeline, address=address)
    out: dict[str, Any] = dict(info.__dict__)
    if replica.exporter is not None:
        out["metrics_url"] = f"{replica.exporter.address}:{replica.exporter.port}"
    return out


def run_replica(
    run_id: str, index: int, command: dict[str, Any], stop_event_name: str
) -> PartRecords:
    """The sequential part on replica ``index`` (ended early once the stop event is set)."""
    import importlib

    event = importlib.import_module("distributed").Event(stop_event_name)
    replica = _REPLICAS[f"{run_id}/{index}"]
    return replica.run(command, event)


def stop_replica(run_id: str, index: int) -> bool:
    """Close replica ``index`` of run ``run_id``, if this worker holds it."""
    with _LOCK:
        replica = _REPLICAS.pop(f"{run_id}/{index}", None)
    if replica is None:
        return False
    replica.close()
    return True
