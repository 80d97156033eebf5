"""The twenty scenarios of the performance plan.

Each scenario measures one thing on the pipeline under test and holds it to one target
(``ctool.suite.targets``). A scenario that needs what the pipeline lacks (Φ metrics, presets,
a pooling setting) is skipped with the reason. Scenarios never assert wall-clock facts in
tests; they only measure and judge here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ctool.model.schema import ProfileReport, ScenarioResult
from ctool.suite.context import SuiteContext
from ctool.suite.targets import Target

BETWEEN_STAGES = "(between stages)"


class Skip(Exception):
    """Raised by a scenario that cannot run on this pipeline; the message says why."""


@dataclass(frozen=True)
class Scenario:
    id: int
    name: str
    title: str
    target: str | None
    """Key of the target it is judged against (None: judged by a rule stated in detail)."""
    measure: Callable[[SuiteContext], Measurement]


@dataclass
class Measurement:
    value: Any
    detail: str
    data: dict[str, Any]
    passed: bool | None = None
    """For rule-judged scenarios; target-judged ones leave it None."""


def _metric(report: ProfileReport, *path: str) -> Any:
    node: Any = report.pipeline_metrics
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _needs_metric(report: ProfileReport, *path: str) -> float:
    value = _metric(report, *path)
    if not isinstance(value, (int, float)):
        raise Skip(f"the pipeline reports no metric {'.'.join(path)} (metrics() hook)")
    return float(value)


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
    tops = {n: s for n, s in run.stages.items() if s.depth == 0 and n != BETWEEN_STAGES}
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


# 3 ---------------------------------------------------------------------------------------
LEVELS = (1, 5, 10, 20, 50)


def _sweep(ctx: SuiteContext) -> ProfileReport:
    """The closed-loop sweep shared by scenarios 3 and 12 (made once, cached by name)."""
    return ctx.profile("concurrency sweep", episodes=0, concurrency=LEVELS)


def concurrency_sweep(ctx: SuiteContext) -> Measurement:
    run = _sweep(ctx)
    verdict = run.load_verdict or {}
    levels = [
        {"concurrency": lv.concurrency, "p50_ms": lv.p50_ms, "p95_ms": lv.p95_ms,
         "p99_ms": lv.p99_ms, "throughput_eps": lv.throughput_eps, "errors": lv.errors}
        for lv in run.load
    ]  # fmt: skip
    errors = sum(lv.errors for lv in run.load)
    kind = verdict.get("verdict", "unknown")
    return Measurement(
        kind,
        f"{verdict.get('detail', 'no verdict')}; {errors} errors",
        {"levels": levels, "verdict": verdict},
        passed=kind != "cliff" and errors == 0,
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


# 6 ---------------------------------------------------------------------------------------
def allocations(ctx: SuiteContext) -> Measurement:
    mem = _episode_memory(ctx, {})
    return Measurement(
        mem["transient_kb_mean"],
        f"{mem['transient_kb_mean']:.1f} kB allocated in flight per episode (mean of each "
        f"episode's tracemalloc peak above its start; p95 {mem['transient_kb_p95']:.1f} kB), "
        f"{mem['retained_bytes_per_episode']:.0f} B retained per episode",
        mem,
    )


def _episode_memory(ctx: SuiteContext, settings: dict[str, Any]) -> dict[str, float]:
    """Per-episode memory under tracemalloc: the peak each episode reaches above the memory
    it started with (what it allocates in flight), and what stays behind."""
    key = "episode memory " + ",".join(f"{k}={v}" for k, v in sorted(settings.items()))

    def measure() -> dict[str, float]:
        import asyncio
        import statistics
        import tracemalloc

        from ctool.harness.loader import build_pipeline

        async def drive() -> dict[str, float]:
            pipeline = build_pipeline(
                ctx.pipeline, seed=ctx.seed, preset=ctx.preset,
                settings={**ctx.settings, **settings},
            )  # fmt: skip
            transient: list[int] = []
            try:
                for index in range(ctx.sizes.warmup):
                    await pipeline.episode(index)
                tracemalloc.start(1)
                try:
                    start = tracemalloc.get_traced_memory()[0]
                    for index in range(ctx.sizes.profiled_episodes):
                        tracemalloc.reset_peak()
                        before = tracemalloc.get_traced_memory()[0]
                        await pipeline.episode(ctx.sizes.warmup + index)
                        transient.append(tracemalloc.get_traced_memory()[1] - before)
                    end = tracemalloc.get_traced_memory()[0]
                finally:
                    tracemalloc.stop()
                metrics = pipeline.metrics()
            finally:
                await pipeline.aclose()
            ordered = sorted(transient)
            raw_pool = metrics.get("pool")
            pool: dict[str, Any] = raw_pool if isinstance(raw_pool, dict) else {}
            episodes = float(len(transient))
            result = {
                "episodes": episodes,
                "transient_kb_mean": statistics.fmean(transient) / 1024,
                "transient_kb_p95": ordered[int(0.95 * (len(ordered) - 1))] / 1024,
                "retained_bytes_per_episode": (end - start) / episodes,
            }
            for name in ("created", "reused", "acquired"):
                if isinstance(pool.get(name), int):
                    result[f"pool_{name}"] = float(pool[name])
            return result

        return asyncio.run(drive())

    result: dict[str, float] = ctx.cached(key, measure)
    return result


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
    drift = run.drift or {}
    return Measurement(
        run.throughput_eps,
        f"{run.throughput_eps:.1f} episodes/s for {ctx.sizes.sustained_s:g} s "
        f"({run.latency_ms.count} episodes); drift: {drift.get('verdict', 'n/a')}",
        {"episodes": run.latency_ms.count, "drift": drift, "errors": run.errors.count},
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
def _rate_run(ctx: SuiteContext) -> ProfileReport:
    return ctx.profile(
        "open loop at normal load", episodes=0, rate=ctx.sizes.rate,
        duration_s=ctx.sizes.rate_duration_s,
    )  # fmt: skip


def sustained_rate(ctx: SuiteContext) -> Measurement:
    run = _rate_run(ctx)
    drift = run.drift or _drift_from_load(run)
    change = drift.get("p50_change_pct") if drift else None
    rss_start, rss_end = run.resources.rss_mb_start, run.resources.rss_mb_end
    growth = (
        100.0 * (rss_end - rss_start) / rss_start if rss_start and rss_end is not None else None
    )
    change_value = float(change) if isinstance(change, (int, float)) else 0.0
    drifting = drift.get("verdict") == "slower over time" if drift else False
    return Measurement(
        change_value,
        f"{ctx.sizes.rate:g} episodes/s for {ctx.sizes.rate_duration_s:g} s: p50 drift "
        f"{change_value:+.1f} %, verdict {drift.get('verdict', 'n/a') if drift else 'n/a'}, "
        f"RSS {rss_start or 0:.1f} -> {rss_end or 0:.1f} MB",
        {"drift": drift, "rss_growth_pct": growth, "errors": run.errors.count},
        passed=(not drifting or change_value < ctx.targets["drift_pct"].value)
        and (growth is None or growth < ctx.targets["memory_growth_pct"].value),
    )


def _drift_from_load(run: ProfileReport) -> dict[str, Any]:
    for row in run.load:
        drift = row.extra.get("drift")
        if isinstance(drift, dict):
            return drift
    return {}


# 11 --------------------------------------------------------------------------------------
def scaling(ctx: SuiteContext) -> Measurement:
    if ctx.sizes.workers < 2:
        raise Skip("this machine has one core: nothing to scale across")
    run = ctx.profile("workers", episodes=ctx.sizes.worker_episodes, workers=ctx.sizes.workers)
    if not run.scaling:
        raise Skip("the workers run produced no scaling rows")
    last = run.scaling[-1]
    efficiency = float(last.get("efficiency") or 0.0)
    rows = "; ".join(
        f"{r['workers']}w {r['throughput_eps']:.0f} eps "
        f"({100 * float(r.get('efficiency') or 0):.0f} %)"
        for r in run.scaling
    )
    return Measurement(efficiency, rows, {"rows": run.scaling})


# 12 --------------------------------------------------------------------------------------
def queue_depth(ctx: SuiteContext) -> Measurement:
    sweep = _sweep(ctx)
    main = ctx.main_run()
    depths = {lv.concurrency: lv.queue_depth_max for lv in sweep.load if lv.concurrency}
    tops = {n: s for n, s in main.stages.items() if s.depth == 0 and n != BETWEEN_STAGES}
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


# 13 --------------------------------------------------------------------------------------
def cpu_utilisation(ctx: SuiteContext) -> Measurement:
    run = _rate_run(ctx)
    cpu = run.resources.cpu_percent_mean
    if cpu is None:
        raise Skip("the sampler recorded no CPU figures")
    return Measurement(
        cpu,
        f"{cpu:.1f} % of one core at {ctx.sizes.rate:g} episodes/s "
        f"(max {run.resources.cpu_percent_max or 0:.1f} %)",
        {"cpu_percent_mean": cpu, "cpu_percent_max": run.resources.cpu_percent_max},
    )


# 14 --------------------------------------------------------------------------------------
def memory_growth(ctx: SuiteContext) -> Measurement:
    from ctool.harness.leak import LeakcheckOptions, run_leakcheck

    report = ctx.cached(
        "leakcheck",
        lambda: run_leakcheck(
            LeakcheckOptions(
                pipeline=ctx.pipeline, preset=ctx.preset, seed=ctx.seed,
                settings=dict(ctx.settings), episodes=ctx.sizes.leak_episodes,
                warmup=ctx.sizes.leak_warmup, every=ctx.sizes.leak_every,
            )
        ),
    )  # fmt: skip
    # Growth of the process: retained (traced) bytes gained over the run as a share of the
    # process's RSS; RSS growth itself is shown beside it.
    traced = report.traced.growth_pct_of_rss
    growth = traced if traced is not None else report.rss.growth_pct
    return Measurement(
        growth,
        f"retained memory grew {growth:+.2f} % of the process over {report.episodes} episodes "
        f"(RSS {report.rss.growth_pct:+.2f} %); slope {report.traced.slope:.0f} B/episode "
        f"[{report.traced.ci_low:.0f}, {report.traced.ci_high:.0f}]; verdict {report.verdict}",
        {"verdict": report.verdict, "slope": report.traced.slope,
         "traced_growth_pct_of_rss": traced, "rss_growth_pct": report.rss.growth_pct},
        passed=growth < ctx.targets["memory_growth_pct"].value
        and report.rss.growth_pct < ctx.targets["memory_growth_pct"].value
        and report.verdict != "leak",
    )  # fmt: skip


# 15 --------------------------------------------------------------------------------------
def pool_effectiveness(ctx: SuiteContext) -> Measurement:
    reason = ctx.supports(pooling=False) or ctx.supports(pooling=True)
    if reason:
        raise Skip(f"no object pool to switch: {reason}")
    pooled = _episode_memory(ctx, {"pooling": True})
    fresh = _episode_memory(ctx, {"pooling": False})
    if "pool_created" not in pooled or "pool_created" not in fresh:
        raise Skip("the pipeline reports no pool counters (metrics()['pool'])")
    saving = (
        100.0 * (fresh["pool_created"] - pooled["pool_created"]) / fresh["pool_created"]
        if fresh["pool_created"]
        else 0.0
    )
    return Measurement(
        saving,
        f"objects built: {pooled['pool_created']:.0f} pooled vs {fresh['pool_created']:.0f} "
        f"unpooled for {fresh.get('pool_acquired', 0):.0f} uses ({saving:.1f} % saved); "
        f"in-flight memory per episode {pooled['transient_kb_mean']:.1f} kB pooled vs "
        f"{fresh['transient_kb_mean']:.1f} kB unpooled",
        {"pooled": pooled, "unpooled": fresh},
    )


# 16 --------------------------------------------------------------------------------------
def bytes_between_stages(ctx: SuiteContext) -> Measurement:
    run = _rate_run(ctx)
    total = _needs_metric(run, "messages", "bytes")
    episodes = _needs_metric(run, "episodes")
    per_episode = total / episodes if episodes else 0.0
    # Wall-clock bandwidth at the achieved arrival rate of the normal-load run.
    rate = per_episode * run.throughput_eps
    simulated = _metric(run, "messages", "bytes_per_s")
    return Measurement(
        rate,
        f"{rate / 1000:.1f} kB/s between components at {run.throughput_eps:.1f} episodes/s "
        f"({per_episode:.0f} B per episode"
        + (f"; {simulated / 1000:.1f} kB per simulated second)" if simulated else ")"),
        {"bytes_per_s": rate, "bytes_per_episode": per_episode, "bytes": total,
         "messages": _metric(run, "messages", "count"), "simulated_bytes_per_s": simulated},
    )  # fmt: skip


# 17 --------------------------------------------------------------------------------------
def phi_latency(ctx: SuiteContext) -> Measurement:
    phi = _phi_after_warmup(ctx)
    p95 = phi["miss_p95_ms"]
    return Measurement(
        p95,
        f"Φ computation p95 {p95:.3f} ms (cache misses only, the worst case) over "
        f"{phi['computations']:.0f} computations; p95 of all requests {phi['p95_ms']:.3f} ms",
        phi,
    )


def _phi_after_warmup(ctx: SuiteContext) -> dict[str, float]:
    """Φ counters of the measured episodes only: warm-up episodes fill the cache first."""

    def measure() -> dict[str, float]:
        import asyncio

        from ctool.analysis.summary import flat_metrics
        from ctool.harness.loader import build_pipeline

        async def drive() -> dict[str, float]:
            pipeline = build_pipeline(
                ctx.pipeline, seed=ctx.seed, preset=ctx.preset, settings=dict(ctx.settings)
            )
            try:
                if "phi.cache_hits" not in flat_metrics(pipeline.metrics()):
                    raise Skip("the pipeline reports no Φ metrics (phi.cache_hits)")
                for index in range(ctx.sizes.phi_warmup):
                    await pipeline.episode(index)
                before = flat_metrics(pipeline.metrics())
                for index in range(
                    ctx.sizes.phi_warmup, ctx.sizes.phi_warmup + ctx.sizes.phi_episodes
                ):
                    await pipeline.episode(index)
                after = flat_metrics(pipeline.metrics())
            finally:
                await pipeline.aclose()
            if "phi.cache_hits" not in after or "phi.miss_p95_ms" not in after:
                raise Skip("the pipeline reports no Φ metrics (phi.cache_hits, phi.miss_p95_ms)")
            hits = after["phi.cache_hits"] - before.get("phi.cache_hits", 0.0)
            misses = after["phi.cache_misses"] - before.get("phi.cache_misses", 0.0)
            return {
                "warmup_episodes": float(ctx.sizes.phi_warmup),
                "episodes": float(ctx.sizes.phi_episodes),
                "cache_hits": hits,
                "cache_misses": misses,
                "hit_rate": hits / (hits + misses) if hits + misses else 0.0,
                "computations": after.get("phi.computations", 0.0),
                "miss_p95_ms": after["phi.miss_p95_ms"],
                "p95_ms": after.get("phi.p95_ms", 0.0),
            }

        return asyncio.run(drive())

    result: dict[str, float] = ctx.cached("Φ after warm-up", measure)
    return result


# 18 --------------------------------------------------------------------------------------
def phi_cache(ctx: SuiteContext) -> Measurement:
    phi = _phi_after_warmup(ctx)
    rate = phi["hit_rate"]
    return Measurement(
        rate,
        f"hit rate {100 * rate:.1f} % ({phi['cache_hits']:.0f} hits, "
        f"{phi['cache_misses']:.0f} misses) over {ctx.sizes.phi_episodes} episodes after "
        f"{ctx.sizes.phi_warmup} warm-up episodes",
        phi,
    )


# 19 --------------------------------------------------------------------------------------
def behaviour_preserved(ctx: SuiteContext) -> Measurement:
    reason = ctx.supports(preset="baseline") or ctx.supports(preset="optimized")
    if reason:
        raise Skip(f"needs presets baseline and optimized: {reason}")
    digests = {}
    for preset in ("baseline", "optimized"):
        run = ctx.profile(
            f"digest {preset}", preset=preset, episodes=ctx.sizes.behaviour_episodes, warmup=0
        )
        digests[preset] = run.output_digest
    same = digests["baseline"] is not None and digests["baseline"] == digests["optimized"]
    return Measurement(
        "identical" if same else "changed",
        f"output digests over {ctx.sizes.behaviour_episodes} episodes: baseline "
        f"{str(digests['baseline'])[:12]}…, optimized {str(digests['optimized'])[:12]}…",
        {"digests": digests},
        passed=same,
    )


# 20 --------------------------------------------------------------------------------------
def optimisation_gain(ctx: SuiteContext) -> Measurement:
    reason = ctx.supports(preset="baseline") or ctx.supports(preset="optimized")
    if reason:
        raise Skip(f"needs presets baseline and optimized: {reason}")
    from ctool.harness.ab import ABPlan, parse_side, run_ab

    settings = [f"{k}={v}" for k, v in ctx.settings.items()]
    plan = ABPlan(
        a=parse_side("A", ",".join(["preset=baseline", *settings]), None),
        b=parse_side("B", ",".join(["preset=optimized", *settings]), None),
        rounds=ctx.sizes.ab_rounds, episodes=ctx.sizes.ab_episodes,
        warmup=ctx.sizes.warmup, seed=ctx.seed, pipeline=ctx.pipeline,
        gate=("mean",),
    )  # fmt: skip
    report = ctx.cached("ab baseline vs optimized", lambda: run_ab(plan))
    row = next((m for m in report.metrics if m.metric == "latency.mean"), None)
    if row is None or row.ratio is None:
        raise Skip("the A/B run produced no mean-latency ratio")
    gain = 100.0 * (1.0 - row.ratio)
    significant = row.verdict == "faster"
    return Measurement(
        gain,
        f"optimized/baseline mean latency {row.ratio:.3f} "
        f"(95 % CI {row.ci_low or 0:.3f}-{row.ci_high or 0:.3f}, p={row.p_value or 1:.2g}, "
        f"{report.mode}); verdict {row.verdict}",
        {"ratio": row.ratio, "ci_low": row.ci_low, "ci_high": row.ci_high,
         "p_value": row.p_value, "verdict": row.verdict},
        passed=significant and gain > ctx.targets["gain_pct"].value,
    )  # fmt: skip


SCENARIOS: list[Scenario] = [
    Scenario(1, "latency", "Latency baseline (p50, p95, p99, max)", "p50_ms", latency_baseline),
    Scenario(2, "stages", "Per-stage breakdown and slowest stage", None, stage_breakdown),
    Scenario(3, "concurrency", "Latency at 1/5/10/20/50 concurrent (no cliff)", None,
             concurrency_sweep),
    Scenario(4, "hotpath", "Hot path: top 10 functions (cProfile)", None, hot_path),
    Scenario(5, "blocking", "Blocking calls on the event loop", "blocking_calls", blocking_calls),
    Scenario(6, "allocations", "Allocations per episode (tracemalloc)",
             "episode_kb", allocations),
    Scenario(7, "handoffs", "Inter-stage communication time", "handoff_ms", handoffs),
    Scenario(8, "throughput", "Sustained throughput", "throughput_eps", sustained_throughput),
    Scenario(9, "burst", "Burst of queued episodes (drain, no errors)", "burst_drain_s", burst),
    Scenario(10, "soak", "Sustained normal load (no drift, no growth)", "drift_pct",
             sustained_rate),
    Scenario(11, "scaling", "Throughput with 1, 2, 4 … worker processes",
             "scaling_efficiency", scaling),
    Scenario(12, "queue", "Queue depth over time and the bottleneck", None, queue_depth),
    Scenario(13, "cpu", "CPU utilisation at normal load", "cpu_percent", cpu_utilisation),
    Scenario(14, "memory", "Memory growth over the run (leakcheck)", "memory_growth_pct",
             memory_growth),
    Scenario(15, "pool", "Object-pool effectiveness", "pool_saving_pct",
             pool_effectiveness),
    Scenario(16, "bandwidth", "Bytes per second between stages", "bytes_per_s",
             bytes_between_stages),
    Scenario(17, "phi_latency", "Φ latency p95", "phi_p95_ms", phi_latency),
    Scenario(18, "phi_cache", "Φ cache hit rate", "phi_hit_rate", phi_cache),
    Scenario(19, "behaviour", "Behaviour preserved (baseline vs optimized)", None,
             behaviour_preserved),
    Scenario(20, "gain", "Gain of optimized over baseline", "gain_pct", optimisation_gain),
]  # fmt: skip


def judge(scenario: Scenario, ctx: SuiteContext, measurement: Measurement) -> ScenarioResult:
    target = ctx.targets.get(scenario.target) if scenario.target else None
    if measurement.passed is not None:
        passed = measurement.passed
    elif target is not None and isinstance(measurement.value, (int, float)):
        passed = target.met_by(float(measurement.value))
    else:
        passed = True
    return ScenarioResult(
        id=scenario.id,
        name=scenario.name,
        title=scenario.title,
        status="pass" if passed else "fail",
        measured=measurement.value,
        target=_target_text(scenario, ctx, target),
        unit=target.unit if target else None,
        detail=measurement.detail,
        data=measurement.data,
    )


def _target_text(scenario: Scenario, ctx: SuiteContext, target: Target | None) -> str:
    if scenario.name == "latency":
        return f"p50 {ctx.targets['p50_ms'].describe()}, p95 {ctx.targets['p95_ms'].describe()}"
    return target.describe() if target else _rule(scenario)


def _rule(scenario: Scenario) -> str:
    return {
        "stages": "stages marked",
        "concurrency": "no cliff, no errors",
        "hotpath": "profiled",
        "queue": "bottleneck named",
        "behaviour": "identical digests",
    }.get(scenario.name, "")
