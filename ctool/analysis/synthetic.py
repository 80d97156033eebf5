"""A seeded synthetic latency model, and profile reports built from its latencies.

The model (docs/design.md section 9, docs/compare.md) is what the statistics of ``compare``
and ``ab`` are validated on (``tests/compare/test_compare_validation.py``) and what
``benchmarks/stats_model.py`` runs the anchors' decision rules on:

* episode latency ``median * exp(x_t)``, with ``x_t`` an AR(1) process in log space
  (``rho`` 0.5, stationary standard deviation ``sigma`` 0.2): lognormal and autocorrelated;
* 1 % of episodes are spikes of 5x (a GC pause, a page fault, a neighbour);
* a machine factor per process, lognormal with a 3 % standard deviation: the clock speed,
  cache and neighbours of one run. In an interleaved A/B round both halves share it.

The report builders make schema-valid :class:`ProfileReport` objects from arrays of
latencies (milliseconds), with rounds, batches and the lossless samples, so that tests and
benchmarks exercise the same code path as real files. numpy and scipy are imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ctool.analysis.compare import window_from_latencies
from ctool.model.schema import (
    Environment,
    LatencySummary,
    LeakcheckReport,
    ProfileReport,
    RunConfigModel,
    Samples,
    SlopeFit,
    StageStats,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

BATCHES = 20


@dataclass(frozen=True)
class LatencyModel:
    median_ms: float = 2.0
    sigma: float = 0.2
    rho: float = 0.5
    spike_prob: float = 0.01
    spike_factor: float = 5.0
    machine_sd: float = 0.03

    def episodes(self, rng: np.random.Generator, shape: Sequence[int], n: int) -> FloatArray:
        """Latencies (ms) of ``n`` consecutive episodes for every index of ``shape``,
        without the machine factor: an array of shape ``(*shape, n)``."""
        import numpy as np
        from scipy.signal import lfilter

        noise = rng.standard_normal((*shape, n))
        noise *= self.sigma * np.sqrt(1.0 - self.rho**2)
        noise[..., 0] *= 1.0 / np.sqrt(1.0 - self.rho**2)  # start in the stationary law
        log_x = lfilter([1.0], [1.0, -self.rho], noise, axis=-1)
        spikes = np.where(rng.random(log_x.shape) < self.spike_prob, self.spike_factor, 1.0)
        result: FloatArray = self.median_ms * np.exp(log_x) * spikes
        return result

    def machine(self, rng: np.random.Generator, shape: Sequence[int]) -> FloatArray:
        """One machine factor per process, shape ``(*shape, 1)`` to broadcast over episodes."""
        import numpy as np

        result: FloatArray = np.exp(self.machine_sd * rng.standard_normal((*shape, 1)))
        return result


def environment() -> Environment:
    """A fixed machine description for synthetic reports."""
    return Environment(
        python="3.11.9",
        implementation="CPython",
        platform="Linux-synthetic",
        cpu_model="Synthetic CPU",
        cpu_count=2,
        hostname="model",
    )


def latency_summary(ms: FloatArray, *, samples: bool = True) -> LatencySummary:
    import numpy as np

    from ctool.model.samples import ENCODING, encode_ns

    ns = np.rint(ms * 1e6).astype(np.int64)
    p50, p90, p95, p99, p999 = np.percentile(ms, [50, 90, 95, 99, 99.9])
    return LatencySummary(
        count=int(ms.size),
        mean=float(ms.mean()),
        stdev=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        min=float(ms.min()),
        p50=float(p50),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
        p999=float(p999),
        max=float(ms.max()),
        samples=Samples(encoding=ENCODING, count=int(ns.size), data=encode_ns(ns))
        if samples
        else None,
    )


def profile_report(
    rounds: Sequence[FloatArray],
    *,
    stage_shares: Mapping[str, float] | None = None,
    preset: str = "optimized",
    settings: Mapping[str, Any] | None = None,
    seed: int = 0,
    digest: str | None = "0" * 64,
    batches: int = BATCHES,
    samples: bool = True,
    pipeline_metrics: Mapping[str, Any] | None = None,
) -> ProfileReport:
    """A profile report of sequential episodes run in ``len(rounds)`` fresh processes.

    ``stage_shares`` splits each episode into stages by fixed fractions (so stage times
    move with the episode). Rounds are stored when there are two or more; batches are
    ``batches`` consecutive slices of all episodes, as ``ctool profile`` stores them.
    """
    import numpy as np

    shares = dict(stage_shares or {})

    def stage_parts(ms: FloatArray) -> dict[str, FloatArray]:
        return {name: ms * share for name, share in shares.items()}

    everything = np.concatenate([np.asarray(r, dtype=np.float64) for r in rounds])
    round_windows = (
        [window_from_latencies(r, i, stage_parts(r)) for i, r in enumerate(rounds)]
        if len(rounds) >= 2
        else []
    )
    batch_windows = [
        window_from_latencies(chunk, i, stage_parts(chunk))
        for i, chunk in enumerate(np.array_split(everything, min(batches, everything.size)))
    ]
    stages = {
        name: StageStats(
            count=int(values.size),
            mean_ms=float(values.mean()),
            p50_ms=float(np.percentile(values, 50)),
            p95_ms=float(np.percentile(values, 95)),
            p99_ms=float(np.percentile(values, 99)),
            share=share,
        )
        for (name, values), share in zip(
            stage_parts(everything).items(), shares.values(), strict=True
        )
    }
    return ProfileReport(
        created_at="2026-01-01T00:00:00+00:00",
        environment=environment(),
        config=RunConfigModel(
            pipeline="ctool.pipeline:create",
            preset=preset,
            seed=seed,
            episodes=int(everything.size),
            rounds=max(len(rounds), 1),
            settings=dict(settings or {}),
        ),
        latency_ms=latency_summary(everything, samples=samples),
        throughput_eps=float(1000.0 * everything.size / everything.sum()),
        stages=stages,
        pipeline_metrics=dict(pipeline_metrics or {}),
        output_digest=digest,
        batches=batch_windows,
        rounds=round_windows,
    )


def leakcheck_report() -> LeakcheckReport:
    """A minimal valid leakcheck report (for "wrong kind of report" checks)."""
    flat = SlopeFit(slope=0.0, ci_low=0.0, ci_high=0.0, intercept=0.0, growth_pct=0.0)
    return LeakcheckReport(
        created_at="2026-01-01T00:00:00+00:00",
        environment=environment(),
        config=RunConfigModel(pipeline="ctool.pipeline:create"),
        episodes=10,
        warmup=0,
        every=1,
        threshold_bytes_per_episode=1.0,
        growth_floor_pct=1.0,
        verdict="clean",
        reason="",
        traced=flat,
        rss=flat,
    )
