"""Latency and throughput of the headline runs: scenarios 1, 2, 4, 5, 7 and 8."""

from __future__ import annotations

from ctool.model.records import BETWEEN_STAGES
from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip, top_stages


# 1 ---------------------------------------------------------------------------------------
def latency_baseline(ctx: SuiteContext) -> Measurement:
    run = ctx.main_run()
    lat = run.latency_ms
    return Measurement(
        lat.p50,
        f"p50 {lat.p50:.2f} ms, p95 {lat.p95:.2f} ms, p99 {lat.p99:.2f} ms, "
        f"max {lat.max:.2f} ms over {lat.count} episodes",
        {"p50_ms": lat.p50, "p95_ms": lat.p95, "p99_ms": lat.p99, "max_ms": lat.max,
         "episodes": lat.count, "errors": run.errors.count},
        passed=lat.p50 < ctx.targets["p50_ms"].value and lat.p95 < ctx.targets["p95_ms"].value,
    )  # fmt: skip


# 2 ---------------------------------------------------------------------------------------
def stage_breakdown(ctx: SuiteContext) -> Measurement:
    run = ctx.main_run()
    tops = top_stages(run)
    if not tops:
        raise Skip("the pipeline marks no stages (ctool.span / ctool.stage)")
    slowest = max(tops, key=lambda n: tops[n].share)
    shares = {n: round(s.share, 4) for n, s in run.stages.items()}
    return Measurement(
        slowest,
        f"slowest stage {slowest}: {100 * tops[slowest].share:.1f} % of episode time, "
        f"p95 {tops[slowest].p95_ms:.2f} ms",
        {"shares": shares, "slowest": slowest},
        passed=len(tops) >= 1,
    )


# 4 ---------------------------------------------------------------------------------------
def hot_path(ctx: SuiteContext) -> Measurement:
    run = ctx.profile("cProfile", episodes=ctx.sizes.profiled_episodes, profilers=("cprofile",))
    rows = [h for h in run.hotspots if h.profiler == "cprofile"][:10]
    if not rows:
        raise Skip("cProfile produced no hotspots")
    top = [
        {"function": h.function, "file": h.file, "line": h.line, "self_ms": h.self_ms,
         "share": h.share, "stage": h.stage}
        for h in rows
    ]  # fmt: skip
    first = rows[0]
    share = f"{100 * first.share:.1f} %" if first.share is not None else "?"
    return Measurement(
        first.function,
        f"top function {first.function} ({share} of self time); 10 rows in data",
        {"top10": top},
        passed=len(rows) > 0,
    )


# 5 ---------------------------------------------------------------------------------------
def blocking_calls(ctx: SuiteContext) -> Measurement:
    run = ctx.main_run()
    # The watchdog also names CPU-bound stretches that held the loop ("cpu"); only calls
    # that waited (sleep, I/O, locks) are blocking calls.
    calls = [c for c in run.resources.blocking_calls if c.kind != "cpu"]
    sites = [
        {"function": c.function, "file": c.file, "line": c.line, "count": c.count,
         "total_ms": c.total_ms, "max_ms": c.max_ms, "stage": c.stage}
        for c in calls
    ]  # fmt: skip
    if calls:
        worst = max(calls, key=lambda c: c.total_ms)
        detail = (
            f"{len(calls)} site(s); worst {worst.function} at {worst.file}:{worst.line} "
            f"blocked {worst.count} times, {worst.total_ms:.0f} ms in all"
        )
    else:
        detail = "no call blocked the event loop beyond the watchdog threshold"
    return Measurement(len(calls), detail, {"sites": sites})


# 7 ---------------------------------------------------------------------------------------
def handoffs(ctx: SuiteContext) -> Measurement:
    run = ctx.main_run()
    between = run.stages.get(BETWEEN_STAGES)
    if between is None:
        raise Skip("the pipeline marks no stages, so no time lies between them")
    return Measurement(
        between.mean_ms,
        f"{1000 * between.mean_ms:.1f} µs per episode between stages (mean; "
        f"{100 * between.share:.1f} % of episode time)",
        {"share": between.share, "mean_ms": between.mean_ms, "p95_ms": between.p95_ms},
    )


# 8 ---------------------------------------------------------------------------------------
def sustained_throughput(ctx: SuiteContext) -> Measurement:
    run = ctx.profile("sustained", episodes=0, duration_s=ctx.sizes.sustained_s)
    drift = run.drift
    return Measurement(
        run.throughput_eps,
        f"{run.throughput_eps:.1f} episodes/s for {ctx.sizes.sustained_s:g} s "
        f"({run.latency_ms.count} episodes); drift: {drift.verdict if drift else 'n/a'}",
        {
            "episodes": run.latency_ms.count,
            "drift": drift.model_dump() if drift else {},
            "errors": run.errors.count,
        },
    )
