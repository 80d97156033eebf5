"""Scaling across worker processes, and baseline against optimized: behaviour and gain
(scenarios 11, 19 and 20)."""

from __future__ import annotations

from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip


# 11 --------------------------------------------------------------------------------------
def scaling(ctx: SuiteContext) -> Measurement:
    if ctx.sizes.workers < 2:
        raise Skip("this machine has one core: nothing to scale across")
    run = ctx.profile(
        "workers",
        episodes=ctx.sizes.worker_episodes,
        workers=ctx.sizes.workers,
        executor=ctx.executor,
        scheduler=ctx.scheduler,
    )
    if not run.scaling:
        raise Skip("the workers run produced no scaling rows")
    last = run.scaling[-1]
    efficiency = last.efficiency or 0.0
    rows = "; ".join(
        f"{r.workers}w {r.throughput_eps:.0f} eps ({100 * (r.efficiency or 0.0):.0f} %)"
        for r in run.scaling
    )
    executor = run.config.executor or "local"
    data = {"rows": [r.model_dump() for r in run.scaling], "executor": executor}
    return Measurement(efficiency, f"{rows} ({executor})", data)


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
    from ctool.ab.runner import ABPlan, parse_side, run_ab

    settings = [f"{k}={v}" for k, v in ctx.settings.items()]
    plan = ABPlan(
        a=parse_side("A", ",".join(["preset=baseline", *settings]), None),
        b=parse_side("B", ",".join(["preset=optimized", *settings]), None),
        rounds=ctx.sizes.ab_rounds, blocks=5, episodes=max(1, ctx.sizes.ab_episodes // 5),
        warmup=ctx.sizes.warmup, seed=ctx.seed, pipeline=ctx.pipeline,
        gate=("mean",),
    )  # fmt: skip
    report = ctx.cached("ab baseline vs optimized", lambda: run_ab(plan))
    if not report.complete:  # stopped by a signal: the suite ends with a partial report
        raise KeyboardInterrupt
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
