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
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ctool.analysis.assemble import MeasuredRun, jsonable, profile_report
from ctool.host import stop
from ctool.host.context_executor import ContextThreadPoolExecutor
from ctool.host.environment import capture_environment
from ctool.model.schema import HarnessCost, ProfileReport, RunConfigModel, now_iso
from ctool.monitors.hang import HangMonitor, hang_message
from ctool.monitors.observer import RunObserver
from ctool.run.config import RunConfig
from ctool.run.cost import measure_harness_cost
from ctool.run.monitoring import RunMonitors, interrupt_notice
from ctool.run.observing import MetricsReader, Notices, Observers, Warn
from ctool.run.profiling import ProfilingWindow
from ctool.run.replicas import ReplicaPool
from ctool.run.schedule import PoolFactory, Schedule, planned_episodes
from ctool.run.shapes import LoadDriver
from ctool.run.workers import LocalPool, WorkerSpec
from ctool.workload.loader import PipelineAdapter, build_pipeline, pipeline_stdout_to_stderr

__all__ = ["PoolFactory", "ProfileRun", "run_profile"]


def _ignore(_: str) -> None:
    return None


def run_profile(
    config: RunConfig,
    *,
    observers: Sequence[RunObserver] = (),
    warn: Warn | None = None,
    pool_factory: PoolFactory | None = None,
    contexts: Sequence[AbstractContextManager[object]] = (),
) -> ProfileReport:
    """Run the pipeline as ``config`` asks and return its report (``complete`` false if cut).

    ``observers`` watch the run (``RunObserver``); ``contexts`` are context managers entered
    on the event loop's thread after the warm-up, around the measured episodes and the
    monitors, and exited (in reverse order) when the measured part ends, however it ends
    (a chaos plan installs its faults this way). ``pool_factory`` makes the replicas of a
    replicated run; by default, local worker processes (``--workers N``). While the pipeline
    runs in this process, its stdout goes to stderr (a machine format on ctool's stdout
    stays clean).
    """
    with pipeline_stdout_to_stderr():
        run = ProfileRun.prepare(config, observers=observers, warn=warn)
        try:
            with stop.measuring():
                asyncio.run(run.main(pool_factory or _local_pool, contexts))
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, keep what we have
            run.interrupted = True
            run.schedule.abandon()
        finally:
            run.cleanup()
    return run.report()


def _local_pool(spec: WorkerSpec, config: RunConfig) -> ReplicaPool:
    return LocalPool(spec)


class ProfileRun:
    """One profile run, composed of parts that each do one job: the schedule of shapes (and
    what they measured), the profilers, the monitors, the observers, the pipeline's metrics,
    the run's warnings. ``main`` enters them together on the loop; ``cleanup`` makes sure
    none is left running; ``report`` assembles what they measured."""

    def __init__(
        self,
        config: RunConfig,
        adapter: PipelineAdapter,
        notices: Notices,
        observers: Observers,
        profiling: ProfilingWindow,
    ) -> None:
        self.config = config
        self.created_at = now_iso()
        self.adapter = adapter
        self.notices = notices
        self.observers = observers
        self.profiling = profiling
        self.metrics = MetricsReader(adapter, notices)
        self.monitors = RunMonitors(config, observers, notices)
        driver = LoadDriver(
            adapter,
            observers=observers.live,
            on_observer_error=observers.failed,
            episode_timeout_s=config.episode_timeout_s,
        )
        self.schedule = Schedule(config, driver, observers, notices)
        self.interrupted = False
        self.harness_cost: HarnessCost | None = None

    @classmethod
    def prepare(
        cls, config: RunConfig, *, observers: Sequence[RunObserver] = (), warn: Warn | None = None
    ) -> ProfileRun:
        """Open the profilers and build the pipeline (a bad ``--pipeline`` or profiler fails
        here, before anything runs)."""
        notices = Notices(warn or _ignore)
        profiling = ProfilingWindow.open(config, notices)
        adapter = build_pipeline(
            config.pipeline, seed=config.seed, preset=config.preset, settings=dict(config.settings)
        )
        return cls(config, adapter, notices, Observers(observers, notices), profiling)

    async def main(
        self,
        pool_factory: PoolFactory | None = None,
        contexts: Sequence[AbstractContextManager[object]] = (),
    ) -> None:
        """The run on the running loop: warm-up, then the measured part with every monitor,
        profiler, observer and context of ``contexts`` entered together (and left together,
        however it ends); Ctrl-C keeps what was measured."""
        cfg, driver = self.config, self.schedule.driver
        # run_in_executor(None, ...) keeps the episode's recorder: spans in the work record.
        asyncio.get_running_loop().set_default_executor(
            ContextThreadPoolExecutor(thread_name_prefix="ctool-default-executor")
        )
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(self._close_pipeline)
            stack.callback(self.monitors.stop)
            stack.callback(self._read_final_metrics)
            self._watch_episodes(stack)
            try:
                if self.config.measures_in_process:
                    await driver.warmup(cfg.warmup)
                for context in contexts:
                    stack.enter_context(context)
                stack.callback(lambda: self.profiling.stop(driver.runner.completed))
                self.monitors.start(driver.book.queue_depth)
                self.observers.start(planned_episodes=planned_episodes(cfg), pipeline=cfg.pipeline)
                pump = await stack.enter_async_context(contextlib.AsyncExitStack())
                await pump.enter_async_context(self.metrics.pump(self.observers))
                self.profiling.start(driver.runner.completed)
                await self.schedule.run(pool_factory or _local_pool)
                self.profiling.stop(driver.runner.completed)
                await pump.aclose()
                self.metrics.read_final()
                self.monitors.stop()
                self.harness_cost = await measure_harness_cost()
                await self.profiling.calibrate(driver.latencies)
            except asyncio.CancelledError:
                self.interrupted = True
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                self.schedule.abandon()

    def _watch_episodes(self, stack: contextlib.AsyncExitStack) -> None:
        """A sync episode that hangs past --episode-timeout is reported; a Ctrl-C that has
        to wait for one says so."""
        episodes, timeout_s = self.schedule.driver.runner, self.config.episode_timeout_s
        hangs = HangMonitor(episodes, lambda s: self.notices(hang_message(s, timeout_s)))
        stack.callback(hangs.start().stop)
        blocked = lambda: episodes.sync_started_ns is not None  # noqa: E731
        stack.enter_context(interrupt_notice(blocked, self.notices.say))

    def _read_final_metrics(self) -> None:
        with contextlib.suppress(Exception):
            self.metrics.read_final()

    async def _close_pipeline(self) -> None:
        try:
            await self.adapter.aclose()
        except Exception as exc:
            self.notices(f"the pipeline's close() failed: {type(exc).__name__}: {exc}")

    def cleanup(self) -> None:
        """After the loop, whatever happened: no thread, hook or profiler left running."""
        self.profiling.stop(self.schedule.driver.runner.completed)
        self.monitors.stop()
        self.observers.finish(complete=not self.interrupted)

    # -- the report ------------------------------------------------------------------------------

    def _config_model(self) -> RunConfigModel:
        settings = _resolved_settings(self.adapter.target)
        published = self.metrics.final.get("settings")
        if not settings and isinstance(published, Mapping):
            settings = {str(k): v for k, v in jsonable(dict(published)).items()}
        return self.config.to_model(settings)

    def measured(self) -> MeasuredRun:
        """What was measured, as model data (harness objects left behind)."""
        parts, result = self.schedule.parts, self.profiling.result
        failed = parts.replica_failed
        return MeasuredRun(
            config=self._config_model(),
            created_at=self.created_at,
            environment=capture_environment(),
            complete=not self.interrupted and not failed,
            incomplete_reason=(
                "interrupted" if self.interrupted else "replica-failed" if failed else None
            ),
            **parts.fields(),
            monitor=self.monitors.summary,
            sampled=dict(self.monitors.sampled),
            metrics=self.metrics.final,
            metrics_in_process=self.config.measures_in_process,
            hotspots=result.hotspots,
            profilers=result.runs,
            artifacts=result.artifacts,
            warnings=list(self.notices.warnings),
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
