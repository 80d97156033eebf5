"""``run_chaos``: a control run, then the experiment under the plan, then the report.

1. The control: the pipeline built with the run's seed, its episodes run for the duration
   with no fault installed. Its windows must hold the hypothesis, else the experiment is
   refused (the pipeline is not steady without faults), with the reason.
2. The experiment: a second pipeline built the same way; the injector's hooks installed,
   window faults started and stopped on its clock, ``--abort-burn`` watched each window.
   Every fault is removed in a ``finally`` before anything else happens (Ctrl-C, SIGTERM,
   an error): hooks out, hangs released, hogs ended, limits restored, proxies cleared.
3. Episodes the experiment started beyond the control's are run on the control pipeline
   (it continues from where it stopped), so every episode has a control digest.
4. What was left behind: tasks, threads and file descriptors against the baseline taken
   just before the experiment.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctool.chaos.driver import EpisodeRecord, Side, drive
from ctool.chaos.inject import Injector
from ctool.chaos.live import LiveControl, write_status
from ctool.chaos.plan import OUTPUT_PREFIX, STAGE_KINDS, ChaosPlan
from ctool.chaos.windows import WindowSchedule, window_fault
from ctool.host import stop
from ctool.model.chaos_schema import ChaosReport, Leftovers
from ctool.model.errors import UsageError
from ctool.workload.loader import PipelineAdapter, build_pipeline, pipeline_stdout_to_stderr

_threads_before: set[int | None] = set()

SETTLE_S = 2.0
"""How long leftovers may take to go after the faults are removed (polled, not slept)."""


@dataclass
class ChaosOptions:
    pipeline: str | None = None
    preset: str | None = None
    seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    plan: ChaosPlan = field(default_factory=ChaosPlan)
    duration_s: float | None = None
    episodes: int | None = None
    concurrency: int = 1
    episode_timeout_s: float | None = 5.0
    window_s: float = 1.0
    abort_burn: float | None = None
    proxies: dict[str, tuple[str, int]] = field(default_factory=dict)
    command: str | None = None
    live_dir: str | None = None
    """``--live DIR``: faults on and off from ``DIR/faults.json`` (:mod:`ctool.chaos.live`)."""


@dataclass
class ChaosRun:
    """What one run measured; :func:`ctool.chaos.assemble.chaos_report` turns it into the
    report."""

    options: ChaosOptions
    created_at: str
    control: Side = field(default_factory=lambda: Side("control"))
    experiment: Side = field(default_factory=lambda: Side("experiment"))
    control_duration_s: float = 0.0
    experiment_duration_s: float = 0.0
    injector: Injector | None = None
    schedule: WindowSchedule | None = None
    hypothesis: dict[str, float] = field(default_factory=dict)
    refused: str | None = None
    aborted: str | None = None
    interrupted: bool = False
    leftovers: Leftovers = field(default_factory=Leftovers)
    catch_up: list[EpisodeRecord] = field(default_factory=list)
    proxy_counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: LiveControl | None = None
    """Control episodes run after the experiment (digests only: off the control's clock)."""
    warnings: list[str] = field(default_factory=list)


def run_chaos(options: ChaosOptions) -> ChaosReport:
    """Run the control and the experiment; the report (``complete`` false if cut short)."""
    from ctool.chaos.assemble import chaos_report
    from ctool.model.base import now_iso

    check_options(options)
    run = ChaosRun(options, created_at=now_iso())
    with pipeline_stdout_to_stderr():
        try:
            with stop.measuring():
                asyncio.run(_main(run))
        except KeyboardInterrupt:  # a second Ctrl-C: the faults are already out
            run.interrupted = True
    return chaos_report(run)


def check_options(options: ChaosOptions) -> None:
    if options.duration_s is None and options.episodes is None:
        raise UsageError("give --duration or --episodes (or [run] in the plan)")
    if options.duration_s is not None and options.duration_s <= 0:
        raise UsageError("--duration must be positive")
    if options.window_s <= 0:
        raise UsageError("--window must be positive")
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    for fault in options.plan.faults:
        if fault.kind == "partition" and fault.target not in options.proxies:
            raise UsageError(f"fault {fault.label}: no --proxy named {fault.target!r}")
        if fault.kind == "hang" and not options.episode_timeout_s:
            raise UsageError(f"fault {fault.label}: a hang needs an episode timeout")


def _build(options: ChaosOptions) -> PipelineAdapter:
    return build_pipeline(
        options.pipeline, seed=options.seed, preset=options.preset, settings=options.settings
    )


async def _main(run: ChaosRun) -> None:
    options = run.options
    proxies: dict[str, Any] = {}
    control: PipelineAdapter | None = None
    experiment: PipelineAdapter | None = None
    try:
        await _start_proxies(options.proxies, proxies)
        control = _build(options)
        experiment = _build(options)
        await _run_control(run, control)
        if run.refused is None:
            await _run_experiment(run, experiment, proxies)
            await _catch_up(run, control)
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM: the faults are already out
        run.interrupted = True
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        if run.schedule is not None:
            await _settle(run)
    finally:
        for adapter in (control, experiment):
            if adapter is not None:
                with contextlib.suppress(Exception):
                    await adapter.aclose()
        for name, proxy in proxies.items():
            run.proxy_counters[name] = proxy.counters.as_dict()
            os.environ.pop(f"CTOOL_PROXY_{name.upper()}", None)
            with contextlib.suppress(Exception):
                await proxy.close()


async def _start_proxies(wanted: dict[str, tuple[str, int]], proxies: dict[str, Any]) -> None:
    """One TCP fault proxy per ``--proxy NAME=HOST:PORT`` into ``proxies`` (each one as it
    starts, so a failure closes the ones before it); its address in ``CTOOL_PROXY_<NAME>``
    for the pipeline to connect through."""
    if not wanted:
        return
    from ctool.proxy.tcp import TCPFaultProxy

    for name, upstream in wanted.items():
        proxy = TCPFaultProxy(name, upstream)
        proxies[name] = proxy
        host, port = await proxy.start()
        os.environ[f"CTOOL_PROXY_{name.upper()}"] = f"{host}:{port}"


def _duration(options: ChaosOptions) -> float | None:
    return options.duration_s


async def _run_control(run: ChaosRun, adapter: PipelineAdapter) -> None:
    from ctool.chaos.steady import default_hypothesis

    options = run.options
    if options.live_dir is not None:
        write_status(Path(options.live_dir), {"phase": "control"})
    start = time.monotonic()
    run.control.t0 = start
    try:
        await drive(
            adapter,
            run.control,
            duration_s=_duration(options),
            episodes=options.episodes,
            concurrency=options.concurrency,
            timeout_s=options.episode_timeout_s,
            fields=_fields(options),
        )
    finally:
        run.control_duration_s = time.monotonic() - start
    run.hypothesis = dict(options.plan.hypothesis) or default_hypothesis(run.control.records)
    run.refused = _unsteady(run)


def _unsteady(run: ChaosRun) -> str | None:
    """Why the control breaks the hypothesis (the experiment is then refused), or None."""
    from ctool.chaos.steady import Spans, timeline

    records = run.control.records
    if not records:
        return "the control ran no episode"
    failed = [r for r in records if r.status != "ok"]
    outcomes = {r.index: "ok" if r.status == "ok" else "failed" for r in records}
    rows = timeline(
        records,
        records,
        outcomes,
        Spans([]),
        window_s=run.options.window_s,
        duration_s=run.control_duration_s,
        hypothesis=_control_tolerances(run),
    )
    broken = [r for r in rows if not r.holds and r.episodes]
    if broken:
        row = broken[0]
        return (
            f"the pipeline is not steady without faults: control window "
            f"{row.start_s:g}-{row.end_s:g} s breaks the hypothesis ({'; '.join(row.violations)})"
        )
    if failed and len(failed) / len(records) > run.hypothesis.get("error_rate", math.inf):
        return f"the control failed {len(failed)} of {len(records)} episodes"
    return None


def _fields(options: ChaosOptions) -> tuple[str, ...]:
    """The outputs the hypothesis watches (``[hypothesis.outputs]``)."""
    hypothesis = options.plan.hypothesis
    return tuple(k[len(OUTPUT_PREFIX) :] for k in hypothesis if k.startswith(OUTPUT_PREFIX))


def _control_tolerances(run: ChaosRun) -> dict[str, float]:
    """What the control itself must hold: the plan's latency and error tolerances. Default
    latency tolerances are derived from the control, so only its error rate is checked then
    (throughput is relative to the control: never)."""
    declared = run.options.plan.hypothesis
    keys = ("p50_ms", "p99_ms", "error_rate") if declared else ("error_rate",)
    return {k: v for k, v in run.hypothesis.items() if k in keys}


def _baseline() -> Leftovers:
    global _threads_before
    _threads_before = {t.ident for t in threading.enumerate()}
    return Leftovers(
        tasks_before=len(asyncio.all_tasks()),
        threads_before=threading.active_count(),
        fds_before=_fd_count(),
    )


def _fd_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


async def _run_experiment(run: ChaosRun, adapter: PipelineAdapter, proxies: dict[str, Any]) -> None:
    options = run.options
    plan = options.plan
    window_faults = [
        (f, window_fault(f, proxies)) for f in plan.faults if f.kind not in STAGE_KINDS
    ]
    run.schedule = WindowSchedule(window_faults)
    run.injector = Injector(plan, seed=options.seed)
    run.leftovers = _baseline()
    start = time.monotonic()
    run.experiment.t0 = start
    run.injector.start_clock(start)
    tasks: list[asyncio.Task[None]] = []
    try:
        with run.injector.installed():
            tasks.append(asyncio.create_task(run.schedule.run(start)))
            if options.abort_burn is not None:
                tasks.append(asyncio.create_task(_watch_burn(run)))
            if options.live_dir is not None:
                run.live = LiveControl(Path(options.live_dir), run)
                tasks.append(asyncio.create_task(run.live.serve(proxies)))
            try:
                await drive(
                    adapter,
                    run.experiment,
                    duration_s=None if options.live_dir else _duration(options),
                    episodes=options.episodes,
                    concurrency=options.concurrency,
                    timeout_s=options.episode_timeout_s,
                    fields=_fields(options),
                )
            finally:
                run.injector.release()
                for task in tasks:
                    task.cancel()
                if run.live is not None:
                    run.live.stop_all()
                run.schedule.stop_all()
    finally:
        run.experiment_duration_s = time.monotonic() - start
        if run.live is not None:
            run.live.stop_all()
        run.schedule.stop_all()
        await asyncio.gather(*tasks, return_exceptions=True)
    await _settle(run)
    if run.live is not None:
        write_status(run.live.directory, run.live.status("done"))


async def _settle(run: ChaosRun) -> None:
    """Leftovers after recovery: wait (up to ``SETTLE_S``) for the counts to come back."""
    left = run.leftovers
    deadline = time.monotonic() + SETTLE_S
    while True:
        left.tasks_after = len(asyncio.all_tasks())
        left.threads_after = threading.active_count()
        left.fds_after = _fd_count()
        left.threads_left = sorted(
            t.name for t in threading.enumerate() if t.ident not in _threads_before
        )
        if left.clean or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.02)


async def _watch_burn(run: ChaosRun) -> None:
    """``--abort-burn X``: stop the experiment when a window's bad-episode rate exceeds X
    times the hypothesis's error rate."""
    options = run.options
    allowed = run.hypothesis.get("error_rate") or 0.0
    limit = options.abort_burn or math.inf
    control = {r.index: r for r in run.control.records}
    seen = 0
    while True:
        await asyncio.sleep(options.window_s)
        fresh = run.experiment.records[seen:]
        seen += len(fresh)
        if not fresh:
            continue
        bad = sum(1 for r in fresh if _is_bad(r, control.get(r.index)))
        rate = bad / len(fresh)
        if allowed > 0 and rate / allowed > limit or allowed == 0 and bad:
            shown = f"{rate / allowed:.1f}x" if allowed else "any error"
            run.aborted = (
                f"error budget burning {shown} too fast "
                f"({bad} of {len(fresh)} episodes in a window; --abort-burn {limit:g})"
            )
            run.experiment.stop()
            return


def _is_bad(record: EpisodeRecord, control: EpisodeRecord | None) -> bool:
    from ctool.chaos.account import outcome_of

    return outcome_of(record, control) != "ok"


async def _catch_up(run: ChaosRun, adapter: PipelineAdapter) -> None:
    """Run on the control the episodes the experiment started beyond the control's."""
    have = {r.index for r in run.control.records}
    # Only an episode that returned is judged by its digest: the control runs on (it is
    # stateful, in order) up to the last such one, and no further.
    returned = {r.index for r in run.experiment.records if r.status == "ok"}
    missing = sorted(returned - have)
    if not missing:
        return
    first = max(have, default=-1) + 1
    extra = Side("control-catch-up", t0=time.monotonic())
    await drive(
        adapter,
        extra,
        duration_s=None,
        episodes=None,
        concurrency=run.options.concurrency,
        timeout_s=run.options.episode_timeout_s,
        indices=list(range(first, max(missing) + 1)),
        fields=_fields(run.options),
    )
    run.catch_up = extra.records
