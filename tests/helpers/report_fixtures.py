"""Synthetic reports of every kind with every field filled, for renderer tests and benchmarks.

The numbers are shaped like real runs of the reference pipeline (a lognormal body with a
slow tail, five stages and a nested Φ stage, a concurrency sweep that saturates) but come
from a seeded generator, so tests are deterministic. ``hostile`` puts a script tag into every
string a report can carry, for the escaping tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ctool.model.samples import ENCODING, encode_ns
from ctool.model.schema import (
    BlockingCall,
    CompareReport,
    Environment,
    ErrorSample,
    ErrorSummary,
    Hotspot,
    LatencySummary,
    LeakcheckReport,
    LeakSample,
    LeakSite,
    LoadLevel,
    MetricComparison,
    ProfileReport,
    ProfilerRun,
    Resources,
    RunConfigModel,
    Samples,
    ScenarioResult,
    SlopeFit,
    StageStats,
    SuiteReport,
    TypeGrowth,
    WindowStats,
)

XSS = "<script>alert(1)</script>"
STAGES = ["MMEI", "MCEA", "TIG", "MEA", "ESGT", "MCEA.phi"]


def environment(hostile: bool = False) -> Environment:
    return Environment(
        python="3.11.2",
        implementation="CPython",
        platform="Linux-6.1.0-x86_64-with-glibc2.36",
        cpu_model="Intel(R) Xeon(R) CPU @ 2.20GHz",
        cpu_count=2,
        hostname=XSS if hostile else "bench-01",
    )


def config(
    episodes: int, hostile: bool = False, *, preset: str = "optimized", **extra: Any
) -> RunConfigModel:
    pipeline = f"pkg.{XSS}:create" if hostile else "ctool.pipeline:create"
    command = f"ctool profile --preset {preset} --episodes {episodes} --concurrency 1,5,10,20,50"
    command += " --profiler cprofile --profiler pyspy -o run.json --html run.html"
    if hostile:
        command += f" --set name='{XSS}'"
    fields: dict[str, Any] = {
        "pipeline": pipeline,
        "preset": preset,
        "seed": 0,
        "episodes": episodes,
        "warmup": 20,
        "concurrency": [1, 5, 10, 20, 50],
        "workers": 1,
        "rounds": 1,
        "profilers": ["cprofile", "tracemalloc", "pyspy"],
        "settings": {"kuramoto": "numpy", "phi": "vectorized", "phi_cache": True},
        "command": command,
    }
    fields.update(extra)
    return RunConfigModel(**fields)


def latency_samples_ns(episodes: int, *, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    body = rng.lognormal(mean=np.log(2.1e6 * scale), sigma=0.25, size=episodes)
    slow = rng.random(episodes) < 0.012
    body[slow] *= rng.uniform(3.0, 9.0, size=int(slow.sum()))
    return body.astype(np.int64)


def summary_of(ns: np.ndarray, *, with_samples: bool = True) -> LatencySummary:
    ms = ns / 1e6
    q = np.quantile(ms, [0.5, 0.9, 0.95, 0.99, 0.999])
    return LatencySummary(
        count=len(ms),
        mean=float(ms.mean()),
        stdev=float(ms.std(ddof=1)) if len(ms) > 1 else 0.0,
        min=float(ms.min()),
        p50=float(q[0]),
        p90=float(q[1]),
        p95=float(q[2]),
        p99=float(q[3]),
        p999=float(q[4]),
        max=float(ms.max()),
        samples=Samples(encoding=ENCODING, count=len(ns), data=encode_ns(ns))
        if with_samples
        else None,
    )


def speedscope(path: Path, hostile: bool = False) -> Path:
    """A py-spy-shaped speedscope file: two threads, a realistic call tree."""
    frames = [
        {"name": "<module>", "file": "/usr/lib/python3.11/runpy.py", "line": 88},
        {
            "name": "run_until_complete",
            "file": "/usr/lib/python3.11/asyncio/base_events.py",
            "line": 640,
        },
        {"name": "episode", "file": "/src/ctool/pipeline/core.py", "line": 120},
        {"name": "synchronize", "file": "/src/ctool/pipeline/esgt.py", "line": 210},
        {"name": "kuramoto_step", "file": "/src/ctool/pipeline/kuramoto.py", "line": 44},
        {"name": "phi", "file": "/src/ctool/pipeline/phi.py", "line": 77},
        {"name": "lyapunov", "file": "/usr/lib/python3/dist-packages/scipy/linalg.py", "line": 300},
        {"name": XSS if hostile else "propagate", "file": "/src/ctool/pipeline/tig.py", "line": 61},
        {"name": "sample", "file": "/src/ctool/monitors/sampler.py", "line": 30},
        {"name": "wait", "file": "/usr/lib/python3.11/threading.py", "line": 324},
    ]
    main = []
    weights = []
    rng = np.random.default_rng(3)
    for _ in range(800):
        r = rng.random()
        if r < 0.45:
            stack = [0, 1, 2, 3, 4]
        elif r < 0.7:
            stack = [0, 1, 2, 5, 6]
        elif r < 0.9:
            stack = [0, 1, 2, 7]
        else:
            stack = [0, 1, 2]
        main.append(stack)
        weights.append(1)
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": "MainThread",
                "unit": "none",
                "startValue": 0,
                "endValue": 800,
                "samples": main,
                "weights": weights,
            },
            {
                "type": "sampled",
                "name": "ctool-sampler",
                "unit": "none",
                "startValue": 0,
                "endValue": 60,
                "samples": [[8, 9]] * 60,
                "weights": [1] * 60,
            },
        ],
        "name": "py-spy profile",
        "exporter": "py-spy@0.3.14",
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def profile_report(
    episodes: int = 2000,
    *,
    hostile: bool = False,
    tmp: Path | None = None,
    seed: int = 0,
    scale: float = 1.0,
    preset: str = "optimized",
    with_samples: bool = True,
) -> ProfileReport:
    ns = latency_samples_ns(episodes, seed=seed, scale=scale)
    lat = summary_of(ns, with_samples=with_samples)
    names = [XSS if hostile and s == "TIG" else s for s in STAGES]
    shares = [0.06, 0.12, 0.22, 0.11, 0.46, 0.09]
    stages: dict[str, StageStats] = {}
    for name, share in zip(names, shares, strict=True):
        mean = lat.mean * share
        stages[name] = StageStats(
            count=episodes if name != "MCEA.phi" else episodes // 3,
            mean_ms=mean,
            p50_ms=mean * 0.92,
            p95_ms=mean * 1.6,
            p99_ms=mean * 2.4,
            share=share,
            depth=1 if name == "MCEA.phi" else 0,
            parent="MCEA" if name == "MCEA.phi" else None,
        )
    stages["(between stages)"] = StageStats(
        count=episodes,
        mean_ms=lat.mean * 0.03,
        p50_ms=lat.mean * 0.028,
        p95_ms=lat.mean * 0.05,
        p99_ms=lat.mean * 0.08,
        share=0.03,
    )
    load = []
    for c in (1, 5, 10, 20, 50):
        sat = min(c, 2) * (1 + 0.05 * min(c, 2))
        tp = 1000.0 / (lat.p50 * scale) * sat / (1 + 0.002 * c)
        p50 = lat.p50 * max(1.0, c / sat)
        load.append(
            LoadLevel(
                concurrency=c,
                episodes=episodes // 5,
                p50_ms=p50,
                p95_ms=p50 * 1.5,
                p99_ms=p50 * 2.3,
                max_ms=p50 * 4,
                throughput_eps=tp,
                errors=0,
                queue_depth_max=c,
            )
        )
    batches = []
    rng = np.random.default_rng(seed + 1)
    per = max(1, episodes // 20)
    for b in range(20):
        chunk = ns[b * per : (b + 1) * per] / 1e6
        batches.append(
            WindowStats(
                index=b,
                episodes=len(chunk),
                mean_ms=float(chunk.mean()),
                p50_ms=float(np.median(chunk)),
                p95_ms=float(np.quantile(chunk, 0.95)),
                p99_ms=float(np.quantile(chunk, 0.99)),
                max_ms=float(chunk.max()),
                throughput_eps=1000 / float(chunk.mean()),
                stages={"ESGT": {"mean_ms": 0.9, "p50_ms": 0.85, "p95_ms": 1.4}},
                metrics={"phi.p95_ms": 0.3},
            )
        )
    timeline = [
        {
            "t_s": t * 0.25,
            "cpu_percent": 92 + 6 * float(rng.random()),
            "rss_mb": 88 + t * 0.01,
            "queue_depth": float(t % 7),
            "loop_lag_ms": 0.2 + float(rng.random()),
        }
        for t in range(120)
    ]
    hot_fn = XSS if hostile else "KuramotoNetwork.step"
    hotspots = [
        Hotspot(
            profiler="cprofile",
            function=hot_fn,
            file="/src/ctool/pipeline/kuramoto.py",
            line=44,
            calls=episodes * 160,
            self_ms=lat.mean * episodes * 0.3,
            cumulative_ms=lat.mean * episodes * 0.38,
            share=0.3,
            stage="ESGT",
        ),
        Hotspot(
            profiler="cprofile",
            function="PhiCalculator.phi",
            file="/src/ctool/pipeline/phi.py",
            line=77,
            calls=episodes // 3,
            self_ms=lat.mean * episodes * 0.07,
            cumulative_ms=lat.mean * episodes * 0.09,
            share=0.07,
            stage="MCEA.phi",
        ),
        Hotspot(
            profiler="cprofile",
            function="TIGFabric.propagate",
            file="/src/ctool/pipeline/tig.py",
            line=61,
            calls=episodes,
            self_ms=lat.mean * episodes * 0.18,
            cumulative_ms=lat.mean * episodes * 0.2,
            share=0.18,
            stage="TIG",
        ),
        Hotspot(
            profiler="tracemalloc",
            function="ESGTEvent.__init__",
            file="/src/ctool/pipeline/esgt.py",
            line=33,
            calls=None,
            self_ms=None,
            cumulative_ms=None,
            share=0.4,
            stage="ESGT",
            extra={"size_bytes": 12_288, "allocations_per_episode": 14.0},
        ),
        Hotspot(
            profiler="pyspy",
            function="kuramoto_step",
            file="/src/ctool/pipeline/kuramoto.py",
            line=44,
            share=0.45,
            stage="ESGT",
        ),
    ]
    artifacts = {"cprofile": "run.cprofile.prof"}
    if tmp is not None:
        artifacts["pyspy"] = str(speedscope(tmp / "run.pyspy.speedscope.json", hostile))
    return ProfileReport(
        created_at="2025-01-15T10:42:07+00:00",
        environment=environment(hostile),
        config=config(episodes, hostile, preset=preset),
        latency_ms=lat,
        throughput_eps=1000.0 / lat.mean,
        errors=ErrorSummary(
            count=2,
            rate=2 / episodes,
            by_type={"ValueError": 2},
            samples=[
                ErrorSample(
                    episode=17,
                    type="ValueError",
                    message=XSS if hostile else "coalition too small",
                    stack='File "/src/ctool/pipeline/esgt.py", line 99, in prepare',
                )
            ],
        ),
        stages=stages,
        load=load,
        resources=Resources(
            cpu_percent_mean=94.0,
            cpu_percent_max=101.0,
            cpu_percent_total_mean=47.0,
            rss_mb_start=88.0,
            rss_mb_end=89.2,
            rss_mb_peak=90.1,
            gc_pause_ms_total=41.0,
            gc_collections=310,
            loop_lag_ms_max=1.4,
            loop_lag_ms_p99=0.9,
            blocking_calls=[
                BlockingCall(
                    function=XSS if hostile else "cpu_percent",
                    file="/usr/lib/python3/dist-packages/psutil/__init__.py",
                    line=1780,
                    count=3,
                    total_ms=310.0,
                    max_ms=104.0,
                    stage="MMEI",
                    kind="blocking",
                    callee="psutil.cpu_percent",
                    stack=[
                        "/usr/lib/python3/dist-packages/psutil/__init__.py:1780 in cpu_percent",
                        "/src/ctool/pipeline/mmei.py:88 in probe",
                    ],
                )
            ],
            timeline=timeline,
        ),
        pipeline_metrics={
            "phi": {
                "p50_ms": 0.21,
                "p95_ms": 0.35,
                "cache_hits": 610,
                "cache_misses": 52,
                "hit_rate": 0.921,
                "computations": 52,
            },
            "messages": {"count": 48_000, "bytes": 3_100_000, "bytes_per_s": 1_250_000.0},
            "ignitions": {"count": 662, "success": 598, "median_time_to_sync_ms": 80.0},
        },
        hotspots=hotspots,
        profilers=[
            ProfilerRun(name="cprofile", ok=True, overhead_ratio=1.9),
            ProfilerRun(name="tracemalloc", ok=True, overhead_ratio=2.6),
            ProfilerRun(name="pyspy", ok=True, overhead_ratio=1.02, metadata={"rate_hz": 100}),
            ProfilerRun(name="line", ok=False, reason="no --line-target given"),
        ],
        artifacts=artifacts,
        output_digest="9f2c1d0b7a5e4f3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b",
        batches=batches,
        rounds=[
            WindowStats(
                index=i,
                episodes=200,
                mean_ms=lat.mean * (1 + 0.01 * i),
                p50_ms=lat.p50 * (1 + 0.01 * i),
                p95_ms=lat.p95,
                p99_ms=lat.p99,
                max_ms=lat.max,
                throughput_eps=400.0,
                pid=4100 + i,
            )
            for i in range(5)
        ],
        drift={
            "windows": [
                {
                    "index": i,
                    "t_s": 0.1 * i,
                    "episodes": episodes // 10,
                    "mean_ms": lat.mean,
                    "p50_ms": lat.p50 * (1 + 0.001 * i),
                    "p95_ms": lat.p95,
                }
                for i in range(10)
            ],
            "first_p50_ms": lat.p50,
            "last_p50_ms": lat.p50 * 1.01,
            "p50_change_pct": 1.0,
            "p_value": 0.41,
            "verdict": "stable",
        },
        bottleneck="ESGT",
        load_verdict={
            "verdict": "knee",
            "knee_concurrency": 5,
            "cliff_concurrency": None,
            "peak_throughput_eps": 1043.0,
            "peak_concurrency": 10,
            "latency_growth": 4.2,
            "load_growth": 50.0,
            "detail": "knee at concurrency 5: beyond it latency grows with load and "
            "throughput saturates near 1043.0 eps",
        },
        duration_s=episodes * lat.mean / 1000,
        warnings=[f"py-spy sampled only 1 thread of 2 {XSS}"] if hostile else [],
        scaling=[
            {
                "workers": w,
                "episodes": episodes,
                "throughput_eps": 450.0 * w * (1 - 0.08 * (w - 1)),
                "efficiency": 1 - 0.08 * (w - 1),
                "p50_ms": lat.p50,
                "p99_ms": lat.p99,
            }
            for w in (1, 2)
        ],
    )


def leakcheck_report(
    episodes: int = 2000, *, hostile: bool = False, every: int = 20
) -> LeakcheckReport:
    rng = np.random.default_rng(5)
    xs = list(range(200, 200 + episodes, every))
    traced = [int(6_000_000 + 850 * (x - 200) + rng.normal(0, 20_000)) for x in xs]
    rss = [int(95_000_000 + 900 * (x - 200) + rng.normal(0, 400_000)) for x in xs]
    return LeakcheckReport(
        created_at="2025-01-15T11:02:00+00:00",
        environment=environment(hostile),
        config=config(episodes, hostile, preset="optimized", settings={"leak_bytes": 800}),
        episodes=episodes,
        warmup=200,
        every=every,
        threshold_bytes_per_episode=64.0,
        growth_floor_pct=1.0,
        verdict="leak",
        reason="retained memory grows 850 B per episode (95% CI 820-880), above 64 B",
        traced=SlopeFit(
            slope=850.0,
            ci_low=820.0,
            ci_high=880.0,
            intercept=6_000_000 - 850 * 200,
            growth_pct=28.0,
        ),
        rss=SlopeFit(
            slope=900.0,
            ci_low=700.0,
            ci_high=1100.0,
            intercept=95_000_000 - 900 * 200,
            growth_pct=1.9,
        ),
        samples=[
            LeakSample(episode=x, traced_bytes=t, rss_bytes=r, objects=50_000 + x)
            for x, t, r in zip(xs, traced, rss, strict=True)
        ],
        sites=[
            LeakSite(
                file="/src/ctool/pipeline/mmei.py",
                line=140,
                function=XSS if hostile else "InteroceptionModule.record",
                stage="MMEI",
                size_diff_bytes=1_600_000,
                count_diff=2000,
                bytes_per_episode=800.0,
                traceback=['File "/src/ctool/pipeline/mmei.py", line 140'],
            )
        ],
        types=[
            TypeGrowth(
                type=XSS if hostile else "bytearray",
                start=10,
                end=2010,
                growth=2000,
                per_episode=1.0,
            )
        ],
        latency_ms=summary_of(latency_samples_ns(episodes, seed=9)),
        duration_s=14.2,
    )


def suite_report(*, hostile: bool = False) -> SuiteReport:
    statuses = ["pass"] * 15 + ["fail", "fail", "skipped", "error", "pass"]
    scenarios = [
        ScenarioResult(
            id=i + 1,
            name=XSS if hostile and i == 0 else f"scenario_{i + 1:02d}",
            title=f"Scenario {i + 1}: p95 under concurrency {5 * (i + 1)}",
            status=status,  # type: ignore[arg-type]
            measured=None
            if status == "skipped"
            else round(
                5.0 * (1.1 + 0.05 * i if status in ("fail", "error") else 0.3 + 0.03 * i), 2
            ),
            target=5.0,
            unit="ms",
            detail=""
            if status == "pass"
            else ("py-spy unavailable" if status == "skipped" else "p95 above target"),
            data={"p50_ms": 1.8 + 0.2 * i, "p95_ms": 2.0 + 0.3 * i},
            duration_s=3.0 + i,
        )
        for i, status in enumerate(statuses)
    ]
    scenarios[2] = ScenarioResult(
        id=3,
        name="concurrency",
        title="Latency at 1/5/10/20/50 concurrent (no cliff)",
        status="pass",
        measured="knee at 5",
        target="no cliff, no errors",
        detail="knee at concurrency 5; 0 errors",
        data={
            "levels": [
                {
                    "concurrency": c,
                    "p50_ms": 2.0 * c**0.8,
                    "p95_ms": 3.1 * c**0.8,
                    "p99_ms": 4.5 * c**0.8,
                    "throughput_eps": 480.0 * min(c, 2) / c**0.05,
                    "errors": 0,
                }
                for c in (1, 5, 10, 20, 50)
            ]
        },  # fmt: skip
        duration_s=3.4,
    )
    return SuiteReport(
        created_at="2025-01-15T12:00:00+00:00",
        environment=environment(hostile),
        config=config(200, hostile),
        quick=True,
        scenarios=scenarios,
        targets={"p95_ms": 5.0, "throughput_eps": 300.0},
        passed=statuses.count("pass"),
        failed=statuses.count("fail"),
        skipped=statuses.count("skipped"),
    )


def compare_report(*, hostile: bool = False) -> CompareReport:
    rows = [
        ("latency.p50", 2.1, 1.55, 0.74, 0.71, 0.77, 1e-9, "faster"),
        ("latency.p95", 3.1, 2.4, 0.77, 0.72, 0.82, 1e-8, "faster"),
        ("latency.p99", 6.0, 5.8, 0.97, 0.88, 1.08, 0.4, "no significant change"),
        ("throughput", 470.0, 640.0, 1.36, 1.3, 1.42, 1e-9, "better"),
        ("stage.ESGT.p95", 1.4, 0.6, 0.43, 0.4, 0.47, 1e-9, "faster"),
        ("stage.MMEI.p95", 0.2, 0.21, 1.05, 1.01, 1.09, 0.03, "within noise"),
        (XSS if hostile else "stage.TIG.p95", 0.6, 0.7, 1.17, 1.1, 1.24, 1e-4, "slower"),
        ("phi.hit_rate", 0.0, 0.92, None, None, None, None, "better"),
    ]
    metrics = [
        MetricComparison(
            unit="ms" if ("latency" in m or "stage" in m) else None,
            n_before=5,
            n_after=5,
            note="" if r is not None else "no ratio of a zero",
            metric=m,
            before=b,
            after=a,
            ratio=r,
            ci_low=lo,
            ci_high=hi,
            p_value=p,
            verdict=v,
            lower_is_better=m not in ("throughput", "phi.hit_rate"),
            method="Mann-Whitney U on round medians + bootstrap CI",
            gated=m == "latency.p50",
        )
        for m, b, a, r, lo, hi, p, v in rows
    ]
    return CompareReport(
        created_at="2025-01-15T12:30:00+00:00",
        environment=environment(hostile),
        config=config(2000, hostile),
        before="before.json",
        after="after.json",
        mode="rounds",
        blind_to_drift=False,
        threshold=0.05,
        metrics=metrics,
        hotspots=[
            {
                "change": "shrank",
                "profiler": "cprofile",
                "function": XSS if hostile else "KuramotoNetwork.step",
                "file": "/src/ctool/pipeline/kuramoto.py",
                "line": 44,
                "share_before": 0.62,
                "share_after": 0.3,
            },
            {
                "change": "appeared",
                "profiler": "cprofile",
                "function": "NumpyKuramoto.step",
                "file": "/src/ctool/pipeline/kuramoto.py",
                "line": 136,
                "share_before": 0.0,
                "share_after": 0.45,
            },
        ],
        environment_diff=[{"field": "hostname", "before": "bench-01", "after": "bench-02"}],
        behaviour="outputs identical",
        gate=["latency.p50"],
        warnings=[f"hostname differs: {XSS}"] if hostile else [],
        windows={
            "latency.p50": {
                "before": [2.08, 2.12, 2.1, 2.15, 2.11],
                "after": [1.55, 1.52, 1.58, 1.56, 1.54],
            },
            "latency.p95": {
                "before": [3.1, 3.0, 3.2, 3.15, 3.05],
                "after": [2.4, 2.45, 2.38, 2.42, 2.41],
            },
            "throughput": {
                "before": [470, 468, 475, 466, 472],
                "after": [640, 636, 645, 639, 641],
            },
            XSS if hostile else "stage.TIG.p95": {
                "before": [0.6, 0.61, 0.59, 0.6, 0.62],
                "after": [0.7, 0.71, 0.69, 0.72, 0.7],
            },
        },
        behaviour_detail="output digests match (sha256 9f2c1d0b7a5e)",
        regressions=[XSS if hostile else "stage.TIG.p95"],
        changes=["latency.p50", "throughput"],
    )
