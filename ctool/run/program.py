"""``run_program_profile``: ``ctool profile --script app.py`` / ``-m package``, one run.

A separate entry point beside ``run.runner`` (which drives episodes): here the program is the
workload and runs once, as ``python app.py`` would (``ctool.workload.program``). Around it:

* every event loop the program makes (``asyncio.run``, ``asyncio.new_event_loop``) gets a
  :class:`~ctool.monitors.watchdog.LoopWatchdog` started on it as it first runs, and stopped
  when it closes, so the program's stalls are named with their call sites on *its* loops;
* each task on those loops records its own spans (a task factory activates a recorder per
  task), and code outside any loop records into one for the whole run;
* GC pauses over the whole run, CPU and RSS by the resource sampler, hotspots by the chosen
  profilers (cProfile unless ``--profiler`` says otherwise).

The report is a ``ProfileReport`` with one "episode", the program's run (its wall time), so
it renders and compares like any other; ``program`` in the report holds the command line,
the exit code and the crash, if any.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Coroutine, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctool.analysis.assemble import MeasuredRun, profile_report
from ctool.host.environment import capture_environment
from ctool.model.errors import UsageError
from ctool.model.records import MonitorSummary, PartRecords
from ctool.model.schema import ProfileReport, RunConfigModel, now_iso
from ctool.monitors.sampler import ResourceSampler
from ctool.monitors.watchdog import GCMonitor, LoopWatchdog
from ctool.profilers.base import ProfilerOptions
from ctool.profilers.frames import set_user_code
from ctool.profilers.session import ProfilerResult, ProfilerSession
from ctool.run.recorder import PartRecorder
from ctool.spans import EpisodeRecorder, SpanRecord, activate, deactivate
from ctool.workload.program import Program, ProgramResult, run_program

DEFAULT_PROFILERS = ("cprofile",)
ARTIFACTS_ROOT = Path("ctool-out")


@dataclass(frozen=True)
class ProgramRunConfig:
    program: Program
    profilers: tuple[str, ...] = DEFAULT_PROFILERS
    require: bool = False
    pyspy_rate: int = 100
    top: int = 10
    hotspots: str = "boundary"
    user_code: tuple[str, ...] = ()
    block_threshold_ms: float = 5.0
    command: str | None = None
    artifacts_dir: Path | None = None


@dataclass
class LoopWatch:
    """What ctool attached to the program's loops: a watchdog each, a recorder per task."""

    threshold_ms: float
    user_roots: list[str]
    watchdogs: list[LoopWatchdog] = field(default_factory=list)
    recorders: list[EpisodeRecorder] = field(default_factory=list)
    summary: MonitorSummary = field(default_factory=MonitorSummary)
    errors: list[str] = field(default_factory=list)
    loops: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_new_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        watchdog = LoopWatchdog(threshold_ms=self.threshold_ms, user_roots=self.user_roots)
        self.loops += 1
        loop.set_task_factory(self._task_factory)
        loop.call_soon(self._start, watchdog)
        close = loop.close

        def close_watched() -> None:
            self._stop(watchdog)
            close()

        loop.close = close_watched  # type: ignore[method-assign]

    def _start(self, watchdog: LoopWatchdog) -> None:
        watchdog.start()
        with self._lock:
            self.watchdogs.append(watchdog)

    def _stop(self, watchdog: LoopWatchdog) -> None:
        with self._lock:
            if watchdog not in self.watchdogs:
                return
            self.watchdogs.remove(watchdog)
        summary = watchdog.stop()
        if watchdog.error:
            self.errors.append(watchdog.error)
        self.summary.merge(summary)

    def _task_factory(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        recorder = EpisodeRecorder(locate=True)  # stages of stalls and hotspots
        with self._lock:
            self.recorders.append(recorder)
        ctx = context if context is not None else contextvars.copy_context()
        ctx.run(activate, recorder)
        return asyncio.Task(coro, loop=loop, context=ctx)

    def stop_all(self) -> None:
        """Loops the program left open (never closed) are stopped watching here."""
        for watchdog in list(self.watchdogs):
            self._stop(watchdog)


def run_program_profile(config: ProgramRunConfig) -> ProfileReport:
    """Run the program once under the monitors and profilers; its report."""
    program = config.program
    program.check()
    created = now_iso()
    try:
        set_user_code(config.user_code)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    session = _open_session(config)
    watch = LoopWatch(config.block_threshold_ms, program.roots())
    gc_monitor = GCMonitor()
    sampler = ResourceSampler(queue_depth=lambda: 0, loop_lag_ms=lambda: 0.0)
    outside = EpisodeRecorder(locate=True)
    warnings = list(session.warnings) if session is not None else []
    gc_monitor.start()
    sampler.start()
    profiled = ProfilerResult()
    token = activate(outside)
    try:
        if session is not None:
            session.start()
        result = run_program(program, on_new_loop=watch.on_new_loop)
    finally:
        if session is not None:
            profiled = session.stop(episodes=1)
            warnings += [w for w in session.warnings if w not in warnings]
        deactivate(token)
        watch.stop_all()
        sampled = sampler.stop()
        gc_monitor.stop()
    summary = watch.summary
    summary.gc_pause_ns, summary.gc_collections = gc_monitor.pause_ns, gc_monitor.collections
    warnings += watch.errors + _program_warnings(result, watch)
    spans = [s for r in [outside, *watch.recorders] for s in r.spans]
    measured = MeasuredRun(
        config=_config_model(config),
        created_at=created,
        environment=capture_environment(),
        complete=not result.interrupted,
        incomplete_reason="interrupted" if result.interrupted else None,
        sequential=_part(result, spans),
        monitor=summary,
        sampled=sampled,
        hotspots=profiled.hotspots,
        profilers=profiled.runs,
        artifacts=profiled.artifacts,
        warnings=warnings,
    )
    report = profile_report(measured)
    report.program = {  # type: ignore[attr-defined]  # an extra field (extra="allow")
        "kind": program.kind,
        "argv": program.argv,
        "exit_code": result.exit_code,
        "error": result.error,
        "event_loops": watch.loops,
    }
    return report


def _open_session(config: ProgramRunConfig) -> ProfilerSession | None:
    if not config.profilers:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    options = ProfilerOptions(
        output_dir=config.artifacts_dir or ARTIFACTS_ROOT / f"program-{stamp}",
        pyspy_rate=config.pyspy_rate,
        top=config.top,
        extra={"hotspots": config.hotspots},
    )
    return ProfilerSession.open(list(config.profilers), require=config.require, options=options)


def _part(result: ProgramResult, spans: list[SpanRecord]) -> PartRecords:
    recorder = PartRecorder("sequential", result.start_ns)
    recorder.add(result.start_ns, result.start_ns, result.end_ns, sorted(spans, key=_by_start))
    if result.exception is not None:
        recorder.add_error(0, result.exception)
    return recorder.finish(result.end_ns, result.start_mono_ns, result.end_mono_ns)


def _by_start(span: SpanRecord) -> int:
    return span[1]


def _program_warnings(result: ProgramResult, watch: LoopWatch) -> list[str]:
    out = []
    if result.error is not None:
        out.append(f"the program crashed: {result.error}")
    elif result.exit_code:
        out.append(f"the program exited with code {result.exit_code}")
    if not watch.loops and watch.threshold_ms > 0:
        out.append("the program ran no event loop that ctool saw: no loop stalls to report")
    return out


def _config_model(config: ProgramRunConfig) -> RunConfigModel:
    return RunConfigModel(
        pipeline=config.program.label,
        episodes=1,
        warmup=0,
        profilers=list(config.profilers),
        command=config.command,
        block_threshold_ms=config.block_threshold_ms,
        settings={"argv": " ".join(config.program.argv)},
    )
