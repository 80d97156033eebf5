"""Pure functions from records to summaries: percentiles, stage table, batches, verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ctool.analysis import summary
from ctool.analysis.assemble import MeasuredRun, profile_report
from ctool.host.environment import capture_environment
from ctool.model.records import BETWEEN_STAGES, PartRecords, merge_parts
from ctool.model.samples import decode_ns
from ctool.model.schema import LoadLevel, now_iso
from ctool.run.config import RunConfig
from ctool.run.recorder import PartRecorder


def _part(latencies_ms: list[float], *, gap_ns: int = 0) -> PartRecords:
    """A part whose episodes are back to back: parse 30%, score 50% (inner 20%), 20% between."""
    rec = PartRecorder("test", 0)
    t = 0
    for lat_ms in latencies_ms:
        lat = int(lat_ms * 1e6)
        parse_end = t + lat * 3 // 10
        score_end = parse_end + lat // 2
        spans = [
            ("parse", t, parse_end, 0),
            ("score.inner", parse_end, parse_end + lat // 5, 1),
            ("score", parse_end, score_end, 0),
        ]
        rec.add(t, t, t + lat, spans)
        t += lat + gap_ns
    return rec.finish(t, 1, 2)


def test_latency_summary_is_exact_and_ordered() -> None:
    rng = np.random.default_rng(3)
    ns = rng.lognormal(np.log(2e6), 0.5, 5000).astype(np.int64)
    s = summary.latency_summary(ns)
    expected = np.percentile(ns, [50, 90, 95, 99, 99.9]) / 1e6
    assert [s.p50, s.p90, s.p95, s.p99, s.p999] == pytest.approx(list(expected), rel=1e-12)
    assert s.min <= s.p50 <= s.p90 <= s.p95 <= s.p99 <= s.p999 <= s.max
    assert s.count == 5000 and s.mean == pytest.approx(ns.mean() / 1e6)
    assert s.samples is not None
    assert np.array_equal(decode_ns(s.samples.data, s.samples.count), ns)


def test_latency_summary_of_nothing_is_zeroes() -> None:
    s = summary.latency_summary(np.zeros(0, dtype=np.int64))
    assert s.count == 0 and s.max == 0.0


def test_stage_table_shares_nesting_and_bottleneck() -> None:
    part = _part([10.0] * 50 + [20.0] * 50)
    stages, bottleneck = summary.stage_table(part)
    assert list(stages) == ["score", "score.inner", "parse", BETWEEN_STAGES]
    assert bottleneck == "score"
    top = sum(s.share for s in stages.values() if s.depth == 0)
    assert top == pytest.approx(1.0)
    assert stages["score"].share == pytest.approx(0.5, abs=1e-6)
    assert stages[BETWEEN_STAGES].share == pytest.approx(0.2, abs=1e-6)
    assert stages["score.inner"].parent == "score" and stages["score.inner"].depth == 1
    assert stages["parse"].p50_ms <= stages["parse"].p95_ms <= stages["parse"].p99_ms
    assert stages["parse"].count == 100


def test_repeated_stage_in_one_episode_sums_and_counts_occurrences() -> None:
    rec = PartRecorder("t", 0)
    rec.add(0, 0, 100, [("io", 0, 10, 0), ("io", 20, 50, 0)])
    part = rec.finish(100, 1, 2)
    stages, _ = summary.stage_table(part)
    assert stages["io"].count == 2 and stages["io"].episodes == 1
    assert stages["io"].mean_ms == pytest.approx(40 / 1e6)
    assert stages[BETWEEN_STAGES].share == pytest.approx(0.6)


@pytest.mark.parametrize(("n", "batches"), [(7, 7), (20, 20), (100, 20), (1000, 50), (10**5, 50)])
def test_batches_cover_all_episodes_contiguously(n: int, batches: int) -> None:
    bounds = summary.batch_bounds(n)
    assert len(bounds) == batches
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


def test_batches_carry_stage_statistics() -> None:
    part = _part([5.0] * 200)
    rows = summary.batches(part)
    assert len(rows) == 20 and sum(r.episodes for r in rows) == 200
    assert rows[3].stages["parse"]["mean_ms"] == pytest.approx(1.5, rel=1e-6)
    assert rows[3].throughput_eps == pytest.approx(200.0, rel=0.01)


def test_drift_detects_a_slowdown_and_not_a_flat_run() -> None:
    rng = np.random.default_rng(7)
    flat = _part(list(rng.normal(5.0, 0.1, 400)))
    slowing = _part(list(np.linspace(5.0, 8.0, 400) + rng.normal(0, 0.1, 400)))
    flat_drift = summary.drift(flat)
    slow_drift = summary.drift(slowing)
    assert flat_drift is not None and flat_drift.verdict == "stable"
    assert slow_drift is not None and slow_drift.verdict == "slower over time"
    assert slow_drift.p50_change_pct > 40
    assert len(slow_drift.windows) == 10


def _level(c: int, mean_ms: float, eps: float) -> LoadLevel:
    return LoadLevel(
        concurrency=c,
        episodes=100,
        p50_ms=mean_ms,
        p95_ms=mean_ms,
        p99_ms=mean_ms,
        max_ms=mean_ms,
        throughput_eps=eps,
        extra={"mean_ms": mean_ms},
    )


def _sliced(levels: list[LoadLevel]) -> list[LoadLevel]:
    """Each level's ten time slices within 1 % of its throughput (the verdict's evidence)."""
    for level in levels:
        level.slice_throughput_eps = [level.throughput_eps * f for f in (0.99, 1.01) * 5]
    return levels


def test_load_verdict_scales_knee_and_cliff() -> None:
    scales = _sliced([_level(1, 2.0, 500), _level(4, 2.1, 1900), _level(16, 2.3, 7000)])
    scaled = summary.load_verdict(scales)
    assert scaled is not None and scaled.verdict == "scales"
    # Latency grows as fast as load from the start: saturated at 1 client (Little's law).
    saturated = _sliced([_level(1, 2.0, 500), _level(4, 8.0, 500), _level(16, 32.0, 500)])
    knee = summary.load_verdict(saturated)
    assert knee is not None and knee.verdict == "knee" and knee.knee_concurrency == 1
    assert saturated[1].extra["elasticity"] == pytest.approx(1.0)
    cliff = _sliced([_level(1, 2.0, 500), _level(4, 2.2, 1800), _level(16, 40.0, 400)])
    verdict = summary.load_verdict(cliff)
    assert verdict is not None and verdict.verdict == "cliff"
    assert verdict.cliff_concurrency == 16 and verdict.peak_concurrency == 4
    assert summary.load_verdict([_level(1, 2.0, 500)]) is None


def test_merge_parts_offsets_stage_positions() -> None:
    a, b = _part([1.0] * 3), _part([2.0] * 2)
    merged = merge_parts("m", [a, b])
    assert merged.ok == 5
    assert list(merged.stages["parse"].positions) == [0, 1, 2, 3, 4]
    stages, _ = summary.stage_table(merged)
    assert stages["parse"].count == 5


def test_error_summary_counts_and_samples() -> None:
    rec = PartRecorder("t", 0)
    rec.add(0, 0, 10, [])
    for i in range(30):
        rec.add_error(i, ValueError(f"bad {i % 2}") if i % 3 else KeyError("k"))
    errors = summary.error_summary(rec.finish(10, 1, 2))
    assert errors.count == 30 and errors.rate == pytest.approx(30 / 31)
    assert errors.by_type == {"ValueError": 20, "KeyError": 10}
    assert {(s.type, s.message) for s in errors.samples} == {
        ("ValueError", "bad 0"),
        ("ValueError", "bad 1"),
        ("KeyError", "'k'"),
    }


def test_a_100k_episode_report_stays_under_2_mb() -> None:
    rng = np.random.default_rng(11)
    lat_ms = rng.lognormal(np.log(1.5), 0.3, 100_000)
    sequential = _part(list(lat_ms), gap_ns=20_000)
    sequential.digest = "0" * 64
    config = RunConfig(pipeline="x:y", episodes=100_000).to_model({})
    run = MeasuredRun(config, now_iso(), capture_environment(), sequential=sequential)
    report = profile_report(run)
    text = report.model_dump_json(indent=1)
    assert len(text.encode()) < 2_000_000
    back = json.loads(text)
    assert back["latency_ms"]["count"] == 100_000
    assert len(back["batches"]) == 50
    decoded = decode_ns(back["latency_ms"]["samples"]["data"], 100_000)
    assert np.array_equal(decoded, summary.as_array(sequential.latencies))
