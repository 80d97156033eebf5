"""``run_profile(config)``: the service behind ``ctool profile``.

Order of a run (docs/design.md section 3):

1. open the profiler session (unknown or, with ``require``, unavailable backends fail here),
   build the pipeline (a broken ``--pipeline`` fails here): nothing has run yet;
2. on the event loop: warm-up episodes (unmeasured, locate mode), then start the monitors
   (loop watchdog, GC pauses, the CPU/RSS sampler) and the profilers;
3. the sequential part (in process, or in rounds / worker processes), then the load shapes;
4. stop the profilers and monitors, read the pipeline's metrics, calibrate profiler overhead;
5. the report: what was measured, as model data (``MeasuredRun``), assembled by the pure
   functions of ``ctool.analysis.assemble``.

Ctrl-C (the first one) cancels the run's task: whatever was measured so far becomes a report
with ``complete: false``. The caller decides what to do with it (the CLI writes it and exits
130).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctool.analysis.assemble import MeasuredRun, jsonable, profile_report
from ctool.host import stop
from ctool.host.context_executor import ContextThreadPoolExecutor
from ctool.host.environment import capture_environment
from ctool.model.errors import UsageError
from ctool.model.records import MonitorSummary, PartRecords
from ctool.model.schema import HarnessCost, ProfileReport, RunConfigModel, now_iso
from ctool.monitors.hang import HangMonitor, hang_message
from ctool.monitors.observer import RunObserver
from ctool.monitors.sampler import ResourceSampler
from ctool.monitors.watchdog import LoopWatchdog, pipeline_roots
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.frames import set_user_code
from ctool.profilers.session import ProfilerResult, ProfilerSession
from ctool.run.config import DEFAULT_EPISODES, RunConfig
from ctool.run.cost import measure_harness_cost
from ctool.run.replicas import ReplicaPool, ScalingRun, WorkersResult, replica_rows
from ctool.run.shapes import LoadDriver
from ctool.run.workers import LocalPool, WorkerSpec, run_rounds
from ctool.workload.loader import PipelineAdapter, build_pipeline, pipeline_stdout_to_stderr

Warn = Callable[[str], None]
PoolFactory = Callable[[WorkerSpec, RunConfig], ReplicaPool]
"""Makes the replicas of a replicated run (``--executor dask``: ``ctool.executors.dask``)."""
METRICS_EVERY_S = 1.0
ARTIFACTS_ROOT = Path("ctool-out")


def _ignore(_: str) -> None:
    return None


def run_profile(
    config: RunConfig,
    *,
    observers: Sequence[RunObserver] = (),
    warn: Warn | None = None,
    pool_factory: PoolFactory | None = None,
) -> ProfileReport:
    """Run the pipeline as ``config`` asks and return its report (``complete`` false if cut).

    ``pool_factory`` makes the replicas of a replicated run; by default, local worker
    processes (``--workers N``). While the pipeline runs in this process, its stdout goes to
    stderr (a machine format on ctool's stdout stays clean).
    """
    with pipeline_stdout_to_stderr():
        run = ProfileRun(config, observers=observers, warn=warn or _ignore)
        run.pool_factory = pool_factory or _local_pool
        run.prepare()
        try:
            with stop.measuring():
                asyncio.run(run.main())
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, keep what we have
            run.interrupted = True
            if run.driver is not None:
                run._keep_partial(run.driver.abandon())
        finally:
            run.cleanup()
    return run.report()


def _local_pool(spec: WorkerSpec, config: RunConfig) -> ReplicaPool:
    return LocalPool(spec)


class ProfileRun:
    def __init__(self, config: RunConfig, *, observers: Sequence[RunObserver], warn: Warn) -> None:
        self.config = config
        self.observers = list(observers)
        self.warn = warn
        self.warnings: list[str] = []
        self.created_at = now_iso()
        self.interrupted = False
        self.adapter: PipelineAdapter | None = None
        self.session: ProfilerSession | None = None
        self.profiling = False
        self._profiled_from = 0
        self.profiler_result = ProfilerResult()
        self.driver: LoadDriver | None = None
        self.watchdog: LoopWatchdog | None = None
        self.sampler: ResourceSampler | None = None
        self.sampled: dict[str, Any] = {}
        self.monitor: MonitorSummary | None = None
        self.sequential: PartRecords | None = None
        self.rounds: list[PartRecords] = []
        self.workers: WorkersResult | None = None
        self.pool_factory: PoolFactory = _local_pool
        self.scaling_run: ScalingRun | None = None
        self.levels: list[tuple[int, PartRecords]] = []
        self.open_loop: PartRecords | None = None
        self.burst: PartRecords | None = None
        self.metrics: dict[str, Any] = {}
        self._current: tuple[str, int] = ("sequential", 0)
        self.harness_cost: HarnessCost | None = None

    # -- before the loop -----------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        self.warn(message)

    def _observer_failed(self, observer: RunObserver, exc: BaseException) -> None:
        if observer in self.observers:
            self.observers.remove(observer)
        self._warn(
            f"observer {type(observer).__name__} failed and was dropped: "
            f"{type(exc).__name__}: {exc}"
        )

    def prepare(self) -> None:
        cfg = self.config
        if cfg.profilers:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            options = ProfilerOptions(
                output_dir=cfg.artifacts_dir or ARTIFACTS_ROOT / f"profile-{stamp}",
                pyspy_rate=cfg.pyspy_rate,
                line_targets=list(cfg.line_targets),
                memory_targets=list(cfg.memory_targets),
                top=cfg.top,
                pid=os.getpid(),
                extra={"hotspots": cfg.hotspots},
            )
            try:
                set_user_code(cfg.user_code)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            self.session = ProfilerSession.open(
                list(cfg.profilers), require=cfg.require, options=options
            )
            for message in self.session.warnings:
                self._warn(message)
        self.adapter = build_pipeline(
            cfg.pipeline, seed=cfg.seed, preset=cfg.preset, settings=dict(cfg.settings)
        )

    @property
    def _in_process_sequential(self) -> bool:
        cfg = self.config
        return cfg.runs_sequential and not cfg.replicated and cfg.rounds == 1

    def _planned(self) -> int | None:
        cfg = self.config
        if cfg.duration_s is not None:
            return None
        total = 0
        if cfg.runs_sequential:
            if cfg.rounds > 1:
                total += cfg.episodes * cfg.rounds
            elif cfg.replicated:
                total += cfg.episodes * cfg.workers
            else:
                total += cfg.episodes
        total += sum(cfg.level_episodes(c) for c in cfg.concurrency)
        if cfg.rate is not None:
            total += cfg.episodes or DEFAULT_EPISODES
        total += cfg.burst or 0
        return total

    # -- on the loop ---------------------------------------------------------------------------

    async def main(self) -> None:
        assert self.adapter is not None
        cfg = self.config
        driver = self.driver = LoadDriver(
            self.adapter,
            observers=self.observers,
            on_observer_error=self._observer_failed,
            episode_timeout_s=cfg.episode_timeout_s,
        )
        pump: asyncio.Task[None] | None = None
        # run_in_executor(None, ...) keeps the episode's recorder: spans in the work record.
        asyncio.get_running_loop().set_default_executor(
            ContextThreadPoolExecutor(thread_name_prefix="ctool-default-executor")
        )
        hangs = HangMonitor(driver, lambda s: self._warn(hang_message(s, cfg.episode_timeout_s)))
        hangs.start()
        restore = stop.listen(self._say_when_interrupt_waits)
        try:
            if self._in_process_sequential or cfg.has_load_shapes:
                await driver.warmup(cfg.warmup)
            self.watchdog = LoopWatchdog(
                threshold_ms=cfg.block_threshold_ms, user_roots=pipeline_roots(cfg.pipeline)
            )
            self.watchdog.start()
            watchdog = self.watchdog
            self.sampler = ResourceSampler(
                queue_depth=driver.queue_depth,
                loop_lag_ms=lambda: watchdog.last_lag_ms,
                observers=self.observers,
                include_children=cfg.replicated or cfg.rounds > 1,
                on_observer_error=self._observer_failed,
            )
            self.sampler.start()
            self._notify_start()
            if self.observers:
                pump = asyncio.get_running_loop().create_task(self._pump_metrics())
            if self.session is not None:
                self.session.start()
                self.profiling = True
                self._profiled_from = driver.completed
            await self._measure(driver)
            self._stop_profilers()
            if pump is not None:
                pump.cancel()
            self.metrics = self._pipeline_metrics()
            await self._stop_monitors()
            self.harness_cost = await measure_harness_cost()
            if self.session is not None and self.session.profilers:
                await self.session.calibrate(driver.latencies)
        except asyncio.CancelledError:
            self.interrupted = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self._keep_partial(driver.abandon())
        finally:
            restore()
            hangs.stop()
            if pump is not None:
                pump.cancel()
            self._stop_profilers()
            if not self.metrics:
                with contextlib.suppress(Exception):
                    self.metrics = self._pipeline_metrics()
            await self._stop_monitors()
            try:
                await self.adapter.aclose()
            except Exception as exc:
                self._warn(f"the pipeline's close() failed: {type(exc).__name__}: {exc}")

    def _say_when_interrupt_waits(self) -> None:
        """A first stop signal that lands while a sync episode blocks the loop says the run
        stops after that episode (it cannot be cancelled), and what stops it now."""
        driver = self.driver
        if driver is not None and driver.sync_started_ns is not None:
            self.warn(f"stopping after the episode now running; {stop.again()} stops now")

    async def _measure(self, driver: LoadDriver) -> None:
        cfg = self.config
        if cfg.runs_sequential:
            self._current = ("sequential", 0)
            episodes = None if cfg.sequential_duration_s is not None else cfg.episodes
            if cfg.rounds > 1:
                self.rounds = []
                await run_rounds(
                    self._worker_spec(),
                    cfg.rounds,
                    episodes=episodes,
                    duration_s=cfg.sequential_duration_s,
                    on_round=self._round_done,
                )
            elif cfg.replicated:
                await self._run_replicas(episodes)
            else:
                self.sequential = await driver.sequential(
                    episodes=episodes, duration_s=cfg.sequential_duration_s
                )
        for level in cfg.concurrency:
            self._current = ("concurrency", level)
            episodes = None if cfg.duration_s is not None else cfg.level_episodes(level)
            part = await driver.closed_loop(level, episodes=episodes, duration_s=cfg.duration_s)
            self.levels.append((level, part))
        if cfg.rate is not None:
            self._current = ("rate", 0)
            arrivals = None if cfg.duration_s is not None else (cfg.episodes or DEFAULT_EPISODES)
            self.open_loop = await driver.open_loop(
                cfg.rate, arrivals=arrivals, duration_s=cfg.duration_s
            )
        if cfg.burst is not None:
            self._current = ("burst", cfg.burst)
            self.burst = await driver.burst(cfg.burst)

    async def _run_replicas(self, episodes: int | None) -> None:
        cfg = self.config
        spec = self._worker_spec()
        self.scaling_run = ScalingRun(self.pool_factory(spec, cfg), cfg.pipeline)
        self.workers = await self.scaling_run.run(
            cfg.workers, episodes=episodes, duration_s=cfg.sequential_duration_s
        )
        for message in self.workers.warnings:
            self._warn(message)
        for failed in self.workers.failed:
            self._warn(f"{failed.error}; the run went on with the other replicas")
        # Dask replicas serve their own exporters: the parent's (the observer that lists
        # them, ``set_targets``) must not count their episodes a second time.
        self._replay(self.workers.merged, skip_exporters=cfg.executor != "local")

    def _keep_partial(self, parts: list[PartRecords]) -> None:
        if self.scaling_run is not None and self.scaling_run.result is not None:
            self.workers = self.scaling_run.result
        kind, level = self._current
        for part in parts:
            if kind == "sequential":
                self.sequential = part
            elif kind == "concurrency":
                self.levels.append((level, part))
            elif kind == "rate":
                self.open_loop = part
            elif kind == "burst":
                self.burst = part

    def _worker_spec(self) -> WorkerSpec:
        cfg = self.config
        return WorkerSpec(
            pipeline=cfg.pipeline,
            seed=cfg.seed,
            preset=cfg.preset,
            settings=dict(cfg.settings),
            warmup=cfg.warmup,
            block_threshold_ms=cfg.block_threshold_ms,
            samples_dir=str(cfg.replica_samples_dir) if cfg.replica_samples_dir else None,
            episode_timeout_s=cfg.episode_timeout_s,
        )

    def _round_done(self, part: PartRecords) -> None:
        self.rounds.append(part)
        self._replay(part)

    def _replay(self, part: PartRecords, *, skip_exporters: bool = False) -> None:
        """Observers see the episodes of worker processes when their part comes back."""
        if self.driver is None or not self.observers:
            return
        driver = self.driver
        keep = driver.observers
        if skip_exporters:
            driver.observers = [o for o in keep if not hasattr(o, "set_targets")]
        try:
            for latency in part.latencies:
                driver._notify(driver.next_index, latency, [], None)
                driver.next_index += 1
        finally:  # minus any observer that failed (and was dropped) meanwhile
            driver.observers = [o for o in keep if o in self.observers]

    def _notify_start(self) -> None:
        planned = self._planned()
        for observer in list(self.observers):
            try:
                observer.on_start(planned_episodes=planned, pipeline=self.config.pipeline)
            except Exception as exc:
                self._observer_failed(observer, exc)

    async def _pump_metrics(self) -> None:
        while True:
            await asyncio.sleep(METRICS_EVERY_S)
            metrics = self._pipeline_metrics()
            for observer in list(self.observers):
                try:
                    observer.on_metrics(metrics)
                except Exception as exc:
                    self._observer_failed(observer, exc)

    def _pipeline_metrics(self) -> dict[str, Any]:
        if self.adapter is None:
            return {}
        try:
            return self.adapter.metrics()
        except Exception as exc:
            self._warn(f"the pipeline's metrics() failed: {type(exc).__name__}: {exc}")
            return {}

    def _stop_profilers(self) -> None:
        if self.session is not None and self.profiling:
            self.profiling = False
            episodes = None  # per-episode figures (tracemalloc's retained bytes per episode)
            if self.driver is not None:
                episodes = self.driver.completed - self._profiled_from
            self.profiler_result = self.session.stop(episodes=episodes)

    async def _stop_monitors(self) -> None:
        if self.watchdog is not None:
            self.monitor = self.watchdog.stop()
            if self.watchdog.error:
                self._warn(self.watchdog.error)
            self.watchdog = None
        if self.sampler is not None:
            self.sampled = self.sampler.stop()
            self.sampler = None

    def cleanup(self) -> None:
        """After the loop, whatever happened: no thread, hook or profiler left running."""
        self._stop_profilers()
        if self.watchdog is not None:
            self.monitor = self.watchdog.stop()
            self.watchdog = None
        if self.sampler is not None:
            self.sampled = self.sampler.stop()
            self.sampler = None
        for observer in list(self.observers):
            try:
                observer.on_finish(complete=not self.interrupted)
            except Exception as exc:
                self._observer_failed(observer, exc)

    # -- the report ------------------------------------------------------------------------------

    def _config_model(self) -> RunConfigModel:
        cfg = self.config
        settings = _resolved_settings(self.adapter.target if self.adapter else None)
        published = self.metrics.get("settings")
        if not settings and isinstance(published, Mapping):
            settings = {str(k): v for k, v in jsonable(dict(published)).items()}
        return cfg.to_model(settings)

    def measured(self) -> MeasuredRun:
        """What was measured, as model data (harness objects left behind)."""
        result = self.profiler_result
        failed = self.workers is not None and bool(self.workers.failed)
        return MeasuredRun(
            config=self._config_model(),
            created_at=self.created_at,
            environment=capture_environment(),
            complete=not self.interrupted and not failed,
            incomplete_reason=(
                "interrupted" if self.interrupted else "replica-failed" if failed else None
            ),
            sequential=self.sequential,
            rounds=list(self.rounds),
            workers=self.workers.merged if self.workers is not None else None,
            scaling=list(self.workers.scaling) if self.workers is not None else [],
            replicas=replica_rows(self.workers) if self.workers is not None else [],
            levels=list(self.levels),
            open_loop=self.open_loop,
            burst=self.burst,
            monitor=self.monitor,
            sampled=dict(self.sampled),
            metrics=self.metrics,
            metrics_in_process=self._in_process_sequential or self.config.has_load_shapes,
            hotspots=result.hotspots,
            profilers=result.runs,
            artifacts=result.artifacts,
            warnings=list(self.warnings),
            harness_cost=self.harness_cost,
        )

    def report(self) -> ProfileReport:
        """The report, assembled by ``ctool.analysis.assemble`` from what was measured."""
        return profile_report(self.measured())


def _resolved_settings(target: Any) -> dict[str, Any]:
    """The pipeline's own view of its settings, if it shows one: a ``settings`` attribute
    (or, see the caller, a ``settings`` group in its metrics), e.g. what a preset resolved to.
    """
    value = getattr(target, "settings", None)
    if callable(value):
        with contextlib.suppress(Exception):
            value = value()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in jsonable(dict(value)).items()}
    return {}
