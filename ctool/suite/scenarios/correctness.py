"""The plan's three correctness metrics (scenarios 21, 22 and 23), on per-episode outputs of
the baseline and the optimized preset, same seed, episode by episode (docs/pytest.md,
"Correctness metrics", defines them).

They need a pipeline with both presets whose ``outputs()`` carry ``ignited``, ``phi`` and
``coherence`` (the reference pipeline's do); any other pipeline skips them with the reason.
"""

from __future__ import annotations

import math
from typing import Any

from ctool.suite.context import SuiteContext
from ctool.suite.scenarios.base import Measurement, Skip

Outputs = list[dict[str, Any]]


def _paired(ctx: SuiteContext) -> tuple[Outputs, Outputs, dict[str, Any]]:
    """Every episode's outputs under baseline and optimized, and optimized's metrics."""
    reason = ctx.supports(preset="baseline") or ctx.supports(preset="optimized")
    if reason:
        raise Skip(f"needs presets baseline and optimized: {reason}")

    def measure() -> tuple[Outputs, Outputs, dict[str, Any]]:
        import asyncio

        from ctool.workload.loader import build_pipeline

        async def outputs(preset: str) -> tuple[Outputs, dict[str, Any]]:
            pipeline = build_pipeline(
                ctx.pipeline, seed=ctx.seed, preset=preset, settings=dict(ctx.settings)
            )
            try:
                rows = [
                    dict(pipeline.outputs(await pipeline.episode(index)) or {})
                    for index in range(ctx.sizes.correctness_episodes)
                ]
                return rows, pipeline.metrics()
            finally:
                await pipeline.aclose()

        base, _ = asyncio.run(outputs("baseline"))
        opt, metrics = asyncio.run(outputs("optimized"))
        return base, opt, metrics

    base, opt, metrics = ctx.cached("outputs baseline vs optimized", measure)
    return base, opt, metrics


def same(a: Any, b: Any) -> bool:
    """Equal, floats to a relative 1e-9 (vectorized paths sum in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _ignitions(rows: Outputs) -> list[dict[str, Any]]:
    if not rows or not all(k in rows[0] for k in ("ignited", "phi", "coherence")):
        raise Skip("the pipeline's outputs() carry no ignited / phi / coherence fields")
    return [r for r in rows if r["ignited"]]


# 21 --------------------------------------------------------------------------------------
def integration_behaviour(ctx: SuiteContext) -> Measurement:
    base, opt, _ = _paired(ctx)
    differing = [
        (i, sorted(k for k in b if not same(b[k], o.get(k))))
        for i, (b, o) in enumerate(zip(base, opt, strict=True))
        if not same(b, o)
    ]
    detail = f"{len(base)} episodes, every output field equal under both presets"
    if differing:
        first, keys = differing[0]
        detail = f"{len(differing)} of {len(base)} episodes differ; first: episode {first} {keys}"
    return Measurement(
        len(differing), detail, {"episodes": len(base), "differing": len(differing)},
        passed=not differing,
    )  # fmt: skip


# 22 --------------------------------------------------------------------------------------
def phi_stability(ctx: SuiteContext) -> Measurement:
    base, opt, _ = _paired(ctx)
    pairs = [
        (b["phi"], o["phi"]) for b, o in zip(base, opt, strict=True) if b["ignited"] and b["phi"]
    ]
    _ignitions(base)
    if not pairs:
        raise Skip("no successful ignition with a Φ value in the measured episodes")
    worst = max(abs(o - b) / abs(b) for b, o in pairs) * 100
    return Measurement(
        worst,
        f"Φ of {len(pairs)} ignitions, optimized vs baseline: worst deviation {worst:.2g} %",
        {"ignitions": len(pairs), "worst_pct": worst},
    )


# 23 --------------------------------------------------------------------------------------
def coherence_maintenance(ctx: SuiteContext) -> Measurement:
    """The plan's "coherence maintenance (> 0.8)", literally: the mean over successful
    ignitions of their sustain-phase coherence (each the mean order parameter r of its
    SUSTAIN steps). Second figure: the share of ignitions whose sustain r held the sync
    threshold that made them ignite (``metrics()["ignitions"]["sync_threshold"]``)."""
    _, opt, metrics = _paired(ctx)
    ignitions = _ignitions(opt)
    group = metrics.get("ignitions")
    threshold = group.get("sync_threshold") if isinstance(group, dict) else None
    if not isinstance(threshold, (int, float)):
        raise Skip("the pipeline reports no metric ignitions.sync_threshold")
    if not ignitions:
        raise Skip("no successful ignition in the measured episodes")
    values = [float(r["coherence"]) for r in ignitions]
    share = sum(v >= threshold for v in values) / len(values)
    mean = sum(values) / len(values)
    return Measurement(
        mean,
        f"mean sustain coherence r {mean:.3f} over {len(values)} ignitions; "
        f"{100 * share:.0f} % of them held r >= {threshold:g}",
        {
            "ignitions": len(values),
            "mean_r": mean,
            "min_r": min(values),
            "share": share,
            "threshold": threshold,
        },
    )
