"""Knee and cliff from intervals (issue 25): a flat sweep is never a cliff, a real cliff is."""

from __future__ import annotations

import random

from ctool.analysis.load import load_verdict, slice_throughputs, throughput_ratio
from ctool.model.records import PartRecords
from ctool.model.schema import LoadLevel
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile


def _level(concurrency: int, throughput: float, spread: float, seed: int) -> LoadLevel:
    """A level whose ten slices scatter around ``throughput`` by ``spread`` (relative)."""
    rng = random.Random(seed)
    slices = [throughput * rng.gauss(1.0, spread) for _ in range(10)]
    mean_ms = 1000.0 * concurrency / throughput
    return LoadLevel(
        concurrency=concurrency, episodes=1000, p50_ms=mean_ms, p95_ms=mean_ms,
        p99_ms=mean_ms, max_ms=mean_ms, throughput_eps=sum(slices) / len(slices),
        slice_throughput_eps=slices, extra={"mean_ms": mean_ms},
    )  # fmt: skip


def test_a_flat_noisy_sweep_gives_the_same_verdict_every_time_and_never_cliff() -> None:
    """The issue's two runs: throughput flat around 1,650 eps with +-7 % between levels.
    Point estimates once said "knee at 1", once "cliff at 20"; over 30 such sweeps the
    verdict is one and the same."""
    verdicts = set()
    for run in range(30):
        rng = random.Random(run)
        levels = [
            _level(c, 1650 * rng.uniform(0.93, 1.07), 0.12, seed=100 * run + c)
            for c in (1, 5, 10, 20, 50)
        ]
        verdict = load_verdict(levels)
        assert verdict is not None
        verdicts.add((verdict.verdict, verdict.knee_concurrency))
    assert verdicts == {("knee", 1)}


def test_a_throughput_fall_beyond_noise_is_a_cliff() -> None:
    levels = [_level(1, 1000, 0.05, 1), _level(4, 1900, 0.05, 2), _level(16, 700, 0.05, 3)]
    verdict = load_verdict(levels)
    assert verdict is not None and verdict.verdict == "cliff"
    assert verdict.cliff_concurrency == 16


def test_a_fall_inside_the_noise_is_inconclusive_not_a_cliff() -> None:
    """A 25 % fall whose slices scatter widely: it may be a cliff, the interval cannot say."""
    levels = [_level(1, 1000, 0.02, 1), _level(4, 1000, 0.02, 2), _level(16, 750, 0.02, 3)]
    levels[2].slice_throughput_eps = [300.0, 1200.0] * 5
    levels[2].throughput_eps = 750.0
    verdict = load_verdict(levels)
    assert verdict is not None and verdict.verdict == "inconclusive"
    assert "more episodes per level" in verdict.detail


def test_scaling_throughput_scales() -> None:
    levels = [_level(1, 100, 0.02, 1), _level(2, 198, 0.02, 2), _level(4, 390, 0.02, 3)]
    verdict = load_verdict(levels)
    assert verdict is not None and verdict.verdict == "scales"


def test_slices_count_completions_per_second() -> None:
    part = PartRecords("c4")
    for i in range(100):  # one episode completing every 10 ms
        part.offsets.append(i * 10_000_000)
        part.latencies.append(10_000_000)
    slices = slice_throughputs(part)
    assert len(slices) == 10
    assert all(abs(value - 100.0) < 1e-6 for value in slices)


def test_ratio_without_slices_is_unbounded() -> None:
    old = LoadLevel(concurrency=1, p50_ms=1, p95_ms=1, p99_ms=1, max_ms=1, throughput_eps=10)
    ratio = throughput_ratio(old, old)
    assert ratio.low == 0.0 and ratio.high == float("inf")


def test_a_lock_held_longer_as_more_wait_is_a_cliff() -> None:
    """Real work under an asyncio lock, held for work x waiters: throughput at concurrency
    16 is about a sixteenth of concurrency 1's."""
    report = run_profile(
        RunConfig(pipeline="drifting_pipelines:create_cliff", episodes=0,
                  concurrency=(1, 4, 16), warmup=2)
    )  # fmt: skip
    assert report.load_verdict is not None
    assert report.load_verdict.verdict == "cliff", report.load_verdict.detail


def test_flat_cpu_work_is_never_called_a_cliff() -> None:
    report = run_profile(
        RunConfig(pipeline="drifting_pipelines:create_flat", episodes=0,
                  concurrency=(1, 4, 16), warmup=2)
    )  # fmt: skip
    assert report.load_verdict is not None
    assert report.load_verdict.verdict != "cliff", report.load_verdict.detail
    assert all(level.slice_throughput_eps for level in report.load)
