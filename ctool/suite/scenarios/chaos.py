"""Day 9 of the plan, chaos: random failures, Byzantine faults, partitions, resource
exhaustion (scenarios 24-27), each a ``ctool chaos`` run against its control.

The faults go where the pipeline says it has stages and fault points (one episode is run to
see them: ``ctool.chaos.discover``); a pipeline without fault points skips the Byzantine
scenario. The targets are stated in each title; a preset that misses one fails the row.
"""

from __future__ import annotations

from typing import Any

from ctool.model.chaos_schema import ChaosReport
from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip

COMPLETE_TARGET = 0.99
RECOVER_TARGET_S = 2.0


def _shape(ctx: SuiteContext) -> tuple[list[str], list[str]]:
    from ctool.chaos.discover import discover

    def look() -> tuple[list[str], list[str]]:
        return discover(ctx.pipeline, seed=ctx.seed, preset=ctx.preset, settings=ctx.settings)

    stages, points = ctx.cached("chaos-shape", look)
    if not stages:
        raise Skip("the pipeline marks no stages (ctool.span)")
    return stages, points


def _run(
    ctx: SuiteContext,
    faults: list[str],
    *,
    episodes: int | None = None,
    duration_s: float | None = None,
    hypothesis: dict[str, float] | None = None,
) -> ChaosReport:
    import dataclasses

    from ctool.chaos.options import chaos_options
    from ctool.chaos.runner import run_chaos

    options = chaos_options(
        plan_path=None,
        faults=faults,
        pipeline=ctx.pipeline,
        preset=ctx.preset,
        settings=dict(ctx.settings),
        seed=ctx.seed,
        duration_s=duration_s,
        episodes=episodes,
        concurrency=None,
        episode_timeout_s=None,
        window_s=0.5,
        abort_burn=None,
        proxies=None,
    )
    if hypothesis is not None:
        options.plan = dataclasses.replace(options.plan, hypothesis=hypothesis)
    report = run_chaos(options)
    if report.incomplete_reason == "interrupted":
        raise KeyboardInterrupt
    return report


def _data(report: ChaosReport) -> dict[str, Any]:
    return {
        "accounting": report.accounting.model_dump(),
        "recovery": report.recovery.model_dump(),
        "verdict": report.verdict,
        "faults": [f.label for f in report.faults],
    }


# 24 --------------------------------------------------------------------------------------
def chaos_errors(ctx: SuiteContext) -> Measurement:
    """5 % of episodes see a transient error (``ConnectionError``): spread over the
    pipeline's hand-offs (each fault point at 5 %/N) when it has fault points, else at its
    middle stage."""
    stages, points = _shape(ctx)
    if points:
        share_each = 0.05 / len(points)
        faults = [
            f"error:point:{p}:exception=ConnectionError,probability={share_each:.6f}"
            for p in points
        ]
        where = f"{len(points)} fault points"
    else:
        stage = stages[len(stages) // 2]
        faults = [f"error:span:{stage}:exception=ConnectionError,probability=0.05"]
        where = stage
    episodes = 400 if ctx.quick else 2000
    report = _run(ctx, faults, episodes=episodes)
    a = report.accounting
    returned = a.ok + a.wrong_caught + a.wrong_escaped + a.duplicated
    share = returned / a.started if a.started else 0.0
    acted = sum(f.applied for f in report.faults)
    return Measurement(
        share,
        f"{returned}/{a.started} episodes returned; {acted} errors injected at {where} "
        f"({a.failed_total} failed; {a.wrong_escaped} of those that returned were wrong); "
        f"target >= {COMPLETE_TARGET:.0%}",
        _data(report),
        passed=share >= COMPLETE_TARGET,
    )


# 25 --------------------------------------------------------------------------------------
def chaos_corruption(ctx: SuiteContext) -> Measurement:
    _, points = _shape(ctx)
    if not points:
        raise Skip("the pipeline has no fault points (ctool.fault_point) to corrupt")
    faults = [f"corrupt:point:{p}:mode=nan,probability=0.02" for p in points]
    report = _run(ctx, faults, episodes=300 if ctx.quick else 1500)
    a = report.accounting
    return Measurement(
        a.wrong_escaped,
        f"{a.wrong_escaped} wrong outputs escaped, {a.wrong_caught} caught, "
        f"{a.failed_total} failed, of {a.started} episodes ({a.corrupted} corrupted at "
        f"{len(points)} fault points); target 0 escaped",
        _data(report),
        passed=a.wrong_escaped == 0,
    )


# 26 --------------------------------------------------------------------------------------
def chaos_partition(ctx: SuiteContext) -> Measurement:
    """A hand-off (the middle fault point, else the middle stage) cut off: every call fails
    with ``ConnectionError`` for the window."""
    stages, points = _shape(ctx)
    stage = f"point:{points[len(points) // 2]}" if points else f"span:{stages[len(stages) // 2]}"
    cut = 2.0 if ctx.quick else 5.0
    fault = f"error:{stage}:exception=ConnectionError,start_s=1,duration_s={cut:g}"
    steady = {"error_rate": 0.01, "wrong_rate": 0.0}
    report = _run(ctx, [fault], duration_s=1 + cut + 3, hypothesis=steady)
    recover = report.recovery.time_to_recover_s
    shown = "did not recover before the run ended" if recover is None else f"{recover:.3f} s"
    return Measurement(
        recover,
        f"{stage} cut off for {cut:g} s (every call fails): back within tolerance after "
        f"{shown}; target <= {RECOVER_TARGET_S:g} s",
        _data(report),
        passed=recover is not None and recover <= RECOVER_TARGET_S,
    )


# 27 --------------------------------------------------------------------------------------
def chaos_exhaustion(ctx: SuiteContext) -> Measurement:
    faults = [
        "fds::consume=100000,cap=1024,start_s=0.5,duration_s=1",
        "cpu::threads=2,start_s=1.5,duration_s=1",
        "memory::mb=128,start_s=1.5,duration_s=1",
        "starve::block_ms=20,every_ms=100,start_s=2.5,duration_s=1",
    ]
    report = _run(ctx, faults, duration_s=4.5)
    left = report.leftovers
    extra = (
        max(left.tasks_after - left.tasks_before, 0)
        + max(left.threads_after - left.threads_before, 0)
        + max((left.fds_after or 0) - (left.fds_before or 0), 0)
    )
    return Measurement(
        extra,
        f"after fd exhaustion, CPU hogs, a memory balloon and loop starvation: tasks "
        f"{left.tasks_before}->{left.tasks_after}, threads {left.threads_before}->"
        f"{left.threads_after}, fds {left.fds_before}->{left.fds_after}; "
        f"{report.accounting.started} episodes, each accounted once; target nothing left",
        _data(report),
        passed=extra == 0 and report.accounting.accounted,
    )
