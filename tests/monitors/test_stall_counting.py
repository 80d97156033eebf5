"""Every stall counted with its exact duration (step timing), on ctool's loop and on a
user's own, with the truth measured by the pipeline itself (tests/helpers/stall_pipelines)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import stall_pipelines

from ctool.model.samples import decode_ns
from ctool.model.schema import ProfileReport
from ctool.monitors.watchdog import watch_loop
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

SLACK_NS = 500_000
"""A stall exceeds the step the pipeline saw from inside by the task machinery around it:
microseconds, unless the machine pre-empts the loop thread just then (the stall is then
really that long; the pipeline cannot see it). The issue's bound is 0.5 ms."""


def _holding(stalls: list[tuple[int, int]], steps: list[tuple[int, int]]) -> list[list[int]]:
    """For each step (begin, end), the durations of the stalls (start, duration) holding it."""
    return [[d for s, d in stalls if s <= begun and ended <= s + d] for begun, ended in steps]


def _check_durations(stalls: list[tuple[int, int]], steps: list[tuple[int, int]]) -> int:
    """Every step is held by exactly one stall, never shorter than it; returns how many
    exceed their step by more than SLACK_NS (a pre-empted loop thread)."""
    holding = _holding(stalls, steps)
    assert [len(h) for h in holding] == [1] * len(steps), holding
    over = [h[0] - (e - b) for h, (b, e) in zip(holding, steps, strict=True)]
    assert min(over) >= 0
    return sum(1 for o in over if o >= SLACK_NS)


def _profile(sleep_ms: float, threshold_ms: float | None) -> tuple[ProfileReport, object]:
    before = len(stall_pipelines.BUILT)
    extra = {} if threshold_ms is None else {"block_threshold_ms": threshold_ms}
    report = run_profile(
        RunConfig(
            pipeline="stall_pipelines:create_sleeper",
            episodes=200,
            warmup=2,
            settings={"sleep_ms": sleep_ms},
            **extra,  # type: ignore[arg-type]
        )
    )
    pipeline = stall_pipelines.BUILT[before]
    return report, pipeline


def _check_every_sleep_counted(report: ProfileReport, pipeline: object, sleep_ms: float) -> None:
    res = report.resources
    assert res.loop_stall_timing == "step"
    assert res.loop_stall_samples is not None and res.loop_stall_starts is not None
    durations = decode_ns(res.loop_stall_samples.data, res.loop_stall_samples.count).tolist()
    starts = decode_ns(res.loop_stall_starts.data, res.loop_stall_starts.count).tolist()
    steps: list[tuple[int, int]] = pipeline.steps[-200:]  # type: ignore[attr-defined]
    sleeps: list[int] = pipeline.sleeps[-200:]  # type: ignore[attr-defined]
    assert len(steps) == 200 and min(sleeps) >= sleep_ms * 1e6  # time.sleep never undershoots
    late = _check_durations(list(zip(starts, durations, strict=True)), steps)
    assert late <= 10, f"{late} of 200 stalls exceed their step by 0.5 ms or more"
    assert res.loop_stalls is not None and res.loop_stalls >= 200
    # Attribution comes from sampling: how many of the 200 were named at the sleep's line.
    line = next(
        i
        for i, text in enumerate(Path(stall_pipelines.__file__).read_text().splitlines(), 1)
        if "time.sleep(self.sleep_s)" in text
    )
    named = [b for b in res.blocking_calls if b.function == "Sleeper._store" and b.line == line]
    attributed = named[0].count if named else 0
    assert 0 <= attributed <= 200
    if named:
        assert named[0].stage == "store" and named[0].kind == "blocking"
    assert res.loop_stalls_attributed is not None
    assert attributed <= res.loop_stalls_attributed <= res.loop_stalls
    print(f"{sleep_ms} ms sleeps: 200/200 counted, {attributed} named at line {line}")


def test_every_3ms_sleep_is_counted_at_a_1ms_threshold() -> None:
    report, pipeline = _profile(3.0, threshold_ms=1.0)
    _check_every_sleep_counted(report, pipeline, 3.0)


def test_every_20ms_sleep_is_counted_at_the_default_threshold() -> None:
    report, pipeline = _profile(20.0, threshold_ms=None)
    assert report.config.block_threshold_ms == 5.0
    _check_every_sleep_counted(report, pipeline, 20.0)


def test_a_users_own_loop_counts_every_stall_exactly() -> None:
    """watch_loop on a loop ctool did not start (a script's asyncio.run): each sleep lies in
    exactly one timed stall, which exceeds it by the step's own small work."""
    sleeps: list[tuple[int, int]] = []

    def block() -> None:
        started = time.perf_counter_ns()
        time.sleep(0.003)
        sleeps.append((started, time.perf_counter_ns()))

    async def script() -> list[tuple[int, int]]:
        watchdog = watch_loop(asyncio.get_running_loop(), threshold_ms=1.0)
        await asyncio.sleep(0)  # the step that attached is the caller's, not timed
        for _ in range(100):
            block()
            await asyncio.sleep(0)
        summary = watchdog.stop()
        assert summary.step_timed and summary.stalls >= 100
        assert watchdog.steps is not None
        return list(watchdog.steps.stalls)

    stalls = asyncio.run(script())
    assert _check_durations(stalls, sleeps) <= 5
