"""Resources: allocations, CPU, memory growth, the object pool and bandwidth (scenarios 6,
13, 14, 15 and 16)."""

from __future__ import annotations

from typing import Any

from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip, metric, needs_metric
from ctool.suite.scenarios.load import rate_run


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

        from ctool.workload.episode_memory import measure_episode_memory
        from ctool.workload.loader import build_pipeline

        async def drive() -> dict[str, float]:
            pipeline = build_pipeline(
                ctx.pipeline, seed=ctx.seed, preset=ctx.preset,
                settings={**ctx.settings, **settings},
            )  # fmt: skip
            try:
                for index in range(ctx.sizes.warmup):
                    await pipeline.episode(index)
                mem = await measure_episode_memory(
                    pipeline, episodes=ctx.sizes.profiled_episodes, first_index=ctx.sizes.warmup
                )
                metrics = pipeline.metrics()
            finally:
                await pipeline.aclose()
            raw_pool = metrics.get("pool")
            pool: dict[str, Any] = raw_pool if isinstance(raw_pool, dict) else {}
            result = {
                "episodes": float(mem.episodes),
                "transient_kb_mean": mem.mean_kb,
                "transient_kb_p95": mem.p95_kb,
                "retained_bytes_per_episode": mem.retained_bytes_per_episode,
            }
            for name in ("created", "reused", "acquired"):
                if isinstance(pool.get(name), int):
                    result[f"pool_{name}"] = float(pool[name])
            return result

        return asyncio.run(drive())

    result: dict[str, float] = ctx.cached(key, measure)
    return result


# 13 --------------------------------------------------------------------------------------
def cpu_utilisation(ctx: SuiteContext) -> Measurement:
    run = rate_run(ctx)
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
    from ctool.leak.runner import LeakcheckOptions, run_leakcheck

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
    run = rate_run(ctx)
    total = needs_metric(run, "messages", "bytes")
    episodes = needs_metric(run, "episodes")
    per_episode = total / episodes if episodes else 0.0
    # Wall-clock bandwidth at the achieved arrival rate of the normal-load run.
    rate = per_episode * run.throughput_eps
    simulated = metric(run, "messages", "bytes_per_s")
    return Measurement(
        rate,
        f"{rate / 1000:.1f} kB/s between components at {run.throughput_eps:.1f} episodes/s "
        f"({per_episode:.0f} B per episode"
        + (f"; {simulated / 1000:.1f} kB per simulated second)" if simulated else ")"),
        {"bytes_per_s": rate, "bytes_per_episode": per_episode, "bytes": total,
         "messages": metric(run, "messages", "count"), "simulated_bytes_per_s": simulated},
    )  # fmt: skip
