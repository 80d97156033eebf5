"""Load shapes: the concurrency sweep, a burst, sustained open-loop load and the queue
(scenarios 3, 9, 10 and 12), and the runs other scenarios share with them."""

from __future__ import annotations

from ctool.model.schema import Drift, ProfileReport
from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip, top_stages

LEVELS = (1, 5, 10, 20, 50)


def _sweep(ctx: SuiteContext) -> ProfileReport:
    """The closed-loop sweep shared by scenarios 3 and 12 (made once, cached by name)."""
    return ctx.profile("concurrency sweep", episodes=0, concurrency=LEVELS)


def rate_run(ctx: SuiteContext) -> ProfileReport:
    """The open loop at normal load, shared by scenarios 10, 13 and 16 (cached by name)."""
    return ctx.profile(
        "open loop at normal load", episodes=0, rate=ctx.sizes.rate,
        duration_s=ctx.sizes.rate_duration_s,
    )  # fmt: skip


# 3 ---------------------------------------------------------------------------------------
def concurrency_sweep(ctx: SuiteContext) -> Measurement:
    run = _sweep(ctx)
    verdict = run.load_verdict
    levels = [
        {"concurrency": lv.concurrency, "p50_ms": lv.p50_ms, "p95_ms": lv.p95_ms,
         "p99_ms": lv.p99_ms, "throughput_eps": lv.throughput_eps, "errors": lv.errors}
        for lv in run.load
    ]  # fmt: skip
    errors = sum(lv.errors for lv in run.load)
    kind = verdict.verdict if verdict else "unknown"
    return Measurement(
        kind,
        f"{verdict.detail if verdict else 'no verdict'}; {errors} errors",
        {"levels": levels, "verdict": verdict.model_dump() if verdict else {}},
        passed=kind != "cliff" and errors == 0,
    )


# 9 ---------------------------------------------------------------------------------------
def burst(ctx: SuiteContext) -> Measurement:
    run = ctx.profile("burst", episodes=0, burst=ctx.sizes.burst)
    rows = [lv for lv in run.load if lv.label and "burst" in lv.label] or run.load
    if not rows:
        raise Skip("the burst produced no load row")
    row = rows[0]
    drain = row.extra.get("drain_s")
    drain_s = (
        float(drain)
        if isinstance(drain, (int, float))
        else row.episodes / max(row.throughput_eps, 1e-9)
    )
    return Measurement(
        drain_s,
        f"{ctx.sizes.burst} queued at once drained in {drain_s:.2f} s, max queue depth "
        f"{row.queue_depth_max}, {row.errors} errors",
        {"drain_s": drain_s, "queue_depth_max": row.queue_depth_max, "errors": row.errors,
         "p99_ms": row.p99_ms},
        passed=drain_s < ctx.targets["burst_drain_s"].value and row.errors == 0,
    )  # fmt: skip


# 10 --------------------------------------------------------------------------------------
def sustained_rate(ctx: SuiteContext) -> Measurement:
    run = rate_run(ctx)
    drift = run.drift or _drift_from_load(run)
    change = drift.p50_change_pct if drift else None
    rss_start, rss_end = run.resources.rss_mb_start, run.resources.rss_mb_end
    growth = (
        100.0 * (rss_end - rss_start) / rss_start if rss_start and rss_end is not None else None
    )
    change_value = float(change) if change is not None else 0.0
    drifting = drift.verdict == "slower over time" if drift else False
    return Measurement(
        change_value,
        f"{ctx.sizes.rate:g} episodes/s for {ctx.sizes.rate_duration_s:g} s: p50 drift "
        f"{change_value:+.1f} %, verdict {drift.verdict if drift else 'n/a'}, "
        f"RSS {rss_start or 0:.1f} -> {rss_end or 0:.1f} MB",
        {
            "drift": drift.model_dump() if drift else {},
            "rss_growth_pct": growth,
            "errors": run.errors.count,
        },
        passed=(not drifting or change_value < ctx.targets["drift_pct"].value)
        and (growth is None or growth < ctx.targets["memory_growth_pct"].value),
    )


def _drift_from_load(run: ProfileReport) -> Drift | None:
    """An open-loop row's own drift (kept in its free-form ``extra``), typed again."""
    for row in run.load:
        drift = row.extra.get("drift")
        if isinstance(drift, dict):
            return Drift.model_validate(drift)
    return None


# 12 --------------------------------------------------------------------------------------
def queue_depth(ctx: SuiteContext) -> Measurement:
    sweep = _sweep(ctx)
    main = ctx.main_run()
    depths = {lv.concurrency: lv.queue_depth_max for lv in sweep.load if lv.concurrency}
    tops = top_stages(main)
    bottleneck = max(tops, key=lambda n: tops[n].share) if tops else None
    timeline = [p for p in sweep.resources.timeline if "queue_depth" in p]
    peak = max((p["queue_depth"] for p in timeline), default=None)
    return Measurement(
        bottleneck,
        f"bottleneck stage {bottleneck}; max queue depth per level {depths}; "
        f"{len(timeline)} timeline samples (peak {peak})",
        {"queue_depth_max": depths, "timeline_points": len(timeline), "bottleneck": bottleneck},
        passed=bottleneck is not None or not tops,
    )
