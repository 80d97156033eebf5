"""Φ: the latency of its computation and its cache (scenarios 17 and 18)."""

from __future__ import annotations

from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip


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
        from ctool.workload.loader import build_pipeline

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
