"""``run_profile(config)``: the service behind ``ctool profile``.

Order of a run (DESIGN.md section 3):

1. open the profiler session (unknown or, with ``require``, unavailable backends fail here),
   build the pipeline (a broken ``--pipeline`` fails here): nothing has run yet;
2. on the event loop: warm-up episodes (unmeasured, locate mode), then start the monitors
   (loop watchdog, GC pauses, the CPU/RSS sampler) and the profilers;
3. the sequential part (in process, or in rounds / worker processes), then the load shapes;
4. stop the profilers and monitors, read the pipeline's metrics, calibrate profiler overhead;
5. the report, built by the pure functions of ``ctool.analysis.summary``.

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

from ctool.analysis import summary
from ctool.harness.environment import capture_environment
from ctool.harness.loader import PipelineAdapter, build_pipeline
from ctool.harness.observer import RunObserver
from ctool.harness.runconfig import DEFAULT_EPISODES, RunConfig
from ctool.harness.sampler import ResourceSampler
from ctool.harness.shapes import LoadDriver
from ctool.harness.watchdog import LoopWatchdog, pipeline_roots
from ctool.harness.workers import WorkerSpec, WorkersResult, run_rounds, run_workers
from ctool.model.records import MonitorSummary, PartRecords, merge_parts
from ctool.model.schema import (
    ErrorSummary,
    LoadLevel,
    ProfileReport,
    Resources,
    RunConfigModel,
    now_iso,
)
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.session import ProfilerResult, ProfilerSession

Warn = Callable[[str], None]
METRICS_EVERY_S = 1.0
ARTIFACTS_ROOT = Path("ctool-out")


def _ignore(_: str) -> None:
    return None


def run_profile(
    config: RunConfig,
    *,
    observers: Sequence[RunObserver] = (),
    warn: Warn | None = None,
) -> ProfileReport:
    """Run the pipeline as ``config`` asks and return its report (``complete`` false if cut)."""
    run = ProfileRun(config, observers=observers, warn=warn or _ignore)
    run.prepare()
    try:
        asyncio.run(run.main())
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, keep what we have
        run.interrupted = True
    finally:
        run.cleanup()
    return run.report()


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
        self.levels: list[tuple[int, PartRecords]] = []
        self.open_loop: PartRecords | None = None
        self.burst: PartRecords | None = None
        self.metrics: dict[str, Any] = {}
        self._current: tuple[str, int] = ("sequential", 0)

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
            )
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
        return cfg.runs_sequential and cfg.workers == 1 and cfg.rounds == 1

    def _planned(self) -> int | None:
        cfg = self.config
        if cfg.duration_s is not None:
            return None
        total = 0
        if cfg.runs_sequential:
            if cfg.rounds > 1:
                total += cfg.episodes * cfg.rounds
            elif cfg.workers > 1:
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
            self.adapter, observers=self.observers, on_observer_error=self._observer_failed
        )
        pump: asyncio.Task[None] | None = None
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
                include_children=cfg.workers > 1 or cfg.rounds > 1,
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
            if self.session is not None and self.session.profilers:
                await self.session.calibrate(driver.latencies)
        except asyncio.CancelledError:
            self.interrupted = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self._keep_partial(driver.abandon())
        finally:
            if pump is not None:
                pump.cancel()
            self._stop_profilers()
            if not self.metrics:
                with contextlib.suppress(Exception):
                    self.metrics = self._pipeline_metrics()
            await self._stop_monitors()
            with contextlib.suppress(Exception):
                await self.adapter.aclose()

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
            elif cfg.workers > 1:
                self.workers = await run_workers(
                    self._worker_spec(),
                    cfg.workers,
                    episodes=episodes,
                    duration_s=cfg.sequential_duration_s,
                )
                self._replay(self.workers.merged)
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

    def _keep_partial(self, parts: list[PartRecords]) -> None:
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
        )

    def _round_done(self, part: PartRecords) -> None:
        self.rounds.append(part)
        self._replay(part)

    def _replay(self, part: PartRecords) -> None:
        """Observers see the episodes of worker processes when their part comes back."""
        if self.driver is None or not self.observers:
            return
        for latency in part.latencies:
            self.driver._notify(self.driver.next_index, latency, [], None)
            self.driver.next_index += 1

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

    def _load_parts(self) -> list[PartRecords]:
        parts = [part for _, part in self.levels]
        parts += [p for p in (self.open_loop, self.burst) if p is not None]
        return parts

    def _headline(self) -> PartRecords:
        if self.sequential is not None:
            return self.sequential
        if self.rounds:
            merged = merge_parts("rounds", self.rounds)
            merged.digest = self.rounds[0].digest
            return merged
        if self.workers is not None:
            return self.workers.merged
        load = self._load_parts()
        if load:
            merged = merge_parts("load", load)
            merged.digest = None
            return merged
        return PartRecords("none")

    def _errors(self, headline: PartRecords) -> ErrorSummary:
        parts = [headline, *self._load_parts()] if headline.label != "load" else [headline]
        combined = merge_parts("errors", parts) if len(parts) > 1 else headline
        return summary.error_summary(combined)

    def _monitors(self) -> MonitorSummary:
        monitor = MonitorSummary()
        if self.monitor is not None:
            monitor.merge(self.monitor)
        for part in self.rounds + ([self.workers.merged] if self.workers else []):
            if part.monitor is not None:
                monitor.merge(part.monitor)
        return monitor

    def _resources(self) -> Resources:
        import numpy as np

        monitor = self._monitors()
        lags = summary.as_array(monitor.lag_ns)
        return Resources(
            **self.sampled,
            gc_pause_ms_total=monitor.gc_pause_ns / 1e6,
            gc_collections=monitor.gc_collections,
            loop_lag_ms_max=float(lags.max()) / 1e6 if lags.size else None,
            loop_lag_ms_p99=float(np.percentile(lags, 99)) / 1e6 if lags.size else None,
            loop_stalls=monitor.stalls if self.config.block_threshold_ms > 0 else None,
            loop_stalled_ms=monitor.stalled_ns / 1e6
            if self.config.block_threshold_ms > 0
            else None,
            blocking_calls=summary.blocking_calls(monitor),
        )

    def _load_rows(self) -> tuple[list[LoadLevel], dict[str, Any] | None]:
        rows = [summary.load_level(part, concurrency=c) for c, part in self.levels]
        verdict = summary.load_verdict(rows)
        if self.open_loop is not None:
            rows.append(
                summary.load_level(
                    self.open_loop,
                    rate=self.config.rate,
                    label=self.open_loop.label,
                    extra={**self.open_loop.extra, "drift": summary.drift(self.open_loop)},
                )
            )
        if self.burst is not None:
            rows.append(
                summary.load_level(self.burst, label=self.burst.label, extra=dict(self.burst.extra))
            )
        return rows, verdict

    def _config_model(self) -> RunConfigModel:
        cfg = self.config
        settings = _resolved_settings(self.adapter.target if self.adapter else None)
        published = self.metrics.get("settings")
        if not settings and isinstance(published, Mapping):
            settings = {str(k): v for k, v in _jsonable(dict(published)).items()}
        settings.update(cfg.settings)
        return RunConfigModel(
            pipeline=cfg.pipeline,
            preset=cfg.preset,
            seed=cfg.seed,
            episodes=cfg.episodes,
            warmup=cfg.warmup,
            concurrency=list(cfg.concurrency) or None,
            rate=cfg.rate,
            duration_s=cfg.duration_s,
            burst=cfg.burst,
            workers=cfg.workers,
            rounds=cfg.rounds,
            profilers=list(cfg.profilers),
            settings=settings,
            command=cfg.command,
            block_threshold_ms=cfg.block_threshold_ms,
        )

    def report(self) -> ProfileReport:
        headline = self._headline()
        stages, bottleneck = summary.stage_table(headline)
        load, verdict = self._load_rows()
        rounds = [
            summary.window_stats(part, i, pid=part.pid, metrics=summary.flat_metrics(part.metrics))
            for i, part in enumerate(self.rounds)
        ]
        digests = {part.digest for part in self.rounds}
        if len(digests) > 1:
            self.warnings.append(
                f"the output digest differs between rounds ({len(digests)} distinct): "
                "the pipeline is not deterministic for a given seed and settings"
            )
        metrics = self.metrics
        if not (self._in_process_sequential or self.config.has_load_shapes):
            metrics = headline.metrics or (self.rounds[0].metrics if self.rounds else {})
        result = self.profiler_result
        return ProfileReport(
            created_at=self.created_at,
            complete=not self.interrupted,
            environment=capture_environment(),
            config=self._config_model(),
            latency_ms=summary.latency_summary(summary.as_array(headline.latencies)),
            throughput_eps=summary.throughput(headline),
            errors=self._errors(headline),
            stages=stages,
            bottleneck=bottleneck,
            load=load,
            load_verdict=verdict,
            resources=self._resources(),
            pipeline_metrics=_jsonable(metrics),
            hotspots=result.hotspots,
            profilers=result.runs,
            artifacts=result.artifacts,
            output_digest=headline.digest,
            batches=summary.batches(headline),
            rounds=rounds,
            drift=summary.drift(headline) if headline.label != "load" else None,
            scaling=summary.scaling_rows(self.workers.scaling) if self.workers else [],
            duration_s=headline.wall_ns / 1e9 if headline.wall_ns else None,
            warnings=list(self.warnings),
        )


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
        return {str(k): v for k, v in _jsonable(dict(value)).items()}
    return {}


def _jsonable(value: Any) -> Any:
    """Pipeline-provided dicts may hold numpy scalars, tuples, sets: make them plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return repr(value)
