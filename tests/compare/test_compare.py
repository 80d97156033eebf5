"""compare_reports / compare_paired on synthetic profile reports: rows, modes, gates, diffs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ctool.analysis.compare import (
    behaviour,
    compare_paired,
    compare_reports,
    hotspot_diff,
    parse_gate,
    require_profile,
    unmatched_gate,
)
from ctool.analysis.synthetic import LatencyModel, leakcheck_report, profile_report
from ctool.model.errors import ReportError, UsageError
from ctool.model.schema import (
    Hotspot,
    ProfileReport,
    WindowStats,
)
from ctool.reports.compare_text import headline

MODEL = LatencyModel()
STAGES = {"TIG": 0.2, "ESGT": 0.5, "MCEA": 0.3}
PHI = {"phi": {"p50_ms": 0.4, "p95_ms": 0.9, "hit_rate": 0.0}}


def _rounds(seed: int, factor: float = 1.0, rounds: int = 10, n: int = 200) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return list(MODEL.episodes(rng, (rounds,), n) * MODEL.machine(rng, (rounds,)) * factor)


def _report(seed: int, factor: float = 1.0, rounds: int = 10, **kw: Any) -> ProfileReport:
    kw.setdefault("stage_shares", STAGES)
    return profile_report(_rounds(seed, factor, rounds), **kw)


def _row(report: Any, metric: str) -> Any:
    return next(row for row in report.metrics if row.metric == metric)


def test_rounds_mode_rows_and_verdicts() -> None:
    before = _report(1, pipeline_metrics=PHI)
    after = _report(2, 0.6, pipeline_metrics={"phi": {"p50_ms": 0.1, "hit_rate": 0.7}})
    report = compare_reports(before, after)
    assert report.mode == "rounds" and not report.blind_to_drift
    names = [row.metric for row in report.metrics]
    assert names[:5] == [
        "latency.p50",
        "latency.p95",
        "latency.p99",
        "latency.mean",
        "throughput",
    ]
    for stage in STAGES:
        assert f"stage.{stage}.p50" in names and f"stage.{stage}.p95" in names
    p50 = _row(report, "latency.p50")
    assert p50.verdict == "faster" and p50.gated
    assert p50.ratio == pytest.approx(0.6, rel=0.05)
    assert p50.ci_low <= p50.ratio <= p50.ci_high < 1
    assert p50.n_before == p50.n_after == 10
    assert _row(report, "throughput").verdict == "faster"  # higher is better
    assert _row(report, "throughput").ratio > 1
    assert _row(report, "stage.ESGT.p50").verdict == "faster"
    # Schema v1 form (no declared_metrics): the Φ group read as v1 read it. No per-window
    # values -> a timing is inconclusive, the hit rate descriptive.
    assert _row(report, "pipeline.phi.p50_ms").verdict == "inconclusive"
    assert _row(report, "pipeline.phi.p50_ms").note == "no per-window values"
    assert _row(report, "pipeline.phi.hit_rate").verdict == "better"
    assert _row(report, "pipeline.phi.hit_rate").ratio is None  # from zero
    assert "Φ cache hit rate 0 → 0.7" in headline(report)
    assert report.changes == ["latency.p50"] and report.regressions == []
    assert report.windows["latency.p50"]["before"] == [w.p50_ms for w in before.rounds]
    assert report.behaviour == "outputs identical"


def test_identical_reports_are_no_change() -> None:
    report = compare_reports(_report(3), _report(3))
    p50 = _row(report, "latency.p50")
    assert p50.ratio == 1.0
    assert p50.verdict == "no significant change"
    assert not report.changes and not report.regressions


def test_batches_mode_when_a_side_has_one_round() -> None:
    report = compare_reports(_report(4), _report(5, rounds=1))
    assert report.mode == "batches" and report.blind_to_drift
    assert any("only before has rounds" in w for w in report.warnings)
    assert _row(report, "latency.p50").n_before == 20


def test_batches_rebuilt_from_samples_when_missing() -> None:
    before = _report(6, rounds=1, stage_shares={})
    after = _report(7, 1.3, rounds=1, stage_shares={})
    before.batches = []
    after.batches = []
    report = compare_reports(before, after)
    assert report.mode == "batches"
    assert _row(report, "latency.p50").n_before == 20
    assert _row(report, "latency.p50").verdict == "slower"


def test_without_any_windows_timings_are_inconclusive() -> None:
    before = _report(8, rounds=1, samples=False)
    after = _report(9, 2.0, rounds=1, samples=False)
    before.batches = []
    after.batches = []
    report = compare_reports(before, after)
    assert all(r.verdict == "inconclusive" for r in report.metrics if r.metric.startswith("lat"))
    assert not report.regressions


def test_slowdown_is_a_gated_regression() -> None:
    report = compare_reports(_report(10), _report(11, 1.3))
    assert report.regressions == ["latency.p50"]
    report = compare_reports(_report(10), _report(11, 1.3), gate=["p50", "stage.*.p50"])
    assert report.regressions == [
        "latency.p50",
        "stage.TIG.p50",
        "stage.ESGT.p50",
        "stage.MCEA.p50",
    ]
    assert [r.metric for r in report.metrics if r.gated] == report.regressions


def test_gate_parsing() -> None:
    assert parse_gate(None) == ["p50"]
    assert parse_gate("p50, p99,throughput") == ["p50", "p99", "throughput"]
    assert parse_gate("stage.ESGT.p95,all") == ["stage.ESGT.p95", "all"]
    for bad in ("", "p42", "latency"):
        with pytest.raises(UsageError):
            parse_gate(bad)
    report = compare_reports(_report(1), _report(2), gate=["stage.NOPE.p50", "p50"])
    assert unmatched_gate(report) == ["stage.NOPE.p50"]
    everything = compare_reports(_report(1), _report(2), gate=["all"])
    assert {r.metric for r in everything.metrics if r.gated} >= {"throughput", "stage.TIG.p95"}


def test_behaviour_identical_changed_and_not_comparable() -> None:
    base = _report(1, preset="baseline", settings={"kuramoto": "python"})
    fast = _report(1, preset="optimized", settings={"kuramoto": "numpy"})
    assert behaviour(base, fast)[0] == "outputs identical"
    fast.output_digest = "f" * 64
    assert behaviour(base, fast)[0] == "not comparable"  # nothing says kuramoto is neutral
    # The pipeline's neutral_settings (in the report) say which settings change how it runs,
    # not what it computes: a v1 report's are the settings its metrics published.
    v1 = base.model_copy(update={"pipeline_metrics": {"settings": {"kuramoto": "python"}}})
    assert behaviour(v1, fast)[0] == "outputs changed"
    fast.neutral_settings = ["kuramoto"]
    verdict, detail = behaviour(base, fast)
    assert verdict == "outputs changed"  # preset and neutral settings ARE comparable
    for change in ({"seed": 2}, {"episodes": 5}, {"pipeline": "other:create"}):
        other = fast.model_copy(update={"config": fast.config.model_copy(update=change)})
        verdict, detail = behaviour(base, other)
        assert verdict == "not comparable", change
        assert next(iter(change)) in detail
    nodes = fast.model_copy(
        update={"config": fast.config.model_copy(update={"settings": {"nodes": 64}})}
    )
    assert behaviour(base, nodes) == (
        "not comparable",
        "the runs did different work: setting nodes None vs 64",
    )
    fast.output_digest = None
    assert behaviour(base, fast)[0] == "not comparable"


def test_environment_diff_warns_on_different_machines() -> None:
    before, after = _report(1), _report(2)
    after.environment = after.environment.model_copy(
        update={"hostname": "other", "python": "3.12.1"}
    )
    after.config = after.config.model_copy(update={"preset": "baseline", "profilers": ["cprofile"]})
    report = compare_reports(before, after)
    fields = {row.field for row in report.environment_diff}
    assert {"environment.hostname", "environment.python", "config.preset"} <= fields
    text = " ".join(report.warnings)
    assert "different machines" in text
    assert "different Python python" in text
    assert "different profilers" in text


def _spot(function: str, share: float, line: int = 1) -> Hotspot:
    return Hotspot(
        profiler="cprofile",
        function=function,
        file=f"/x/ctool/{function}.py",
        line=line,
        share=share,
    )


def test_hotspot_diff() -> None:
    before = [_spot("kuramoto", 0.50), _spot("phi", 0.30), _spot("probe", 0.10), _spot("io", 0.05)]
    after = [
        _spot("kuramoto", 0.10, line=9),
        _spot("phi", 0.31),
        _spot("io", 0.09),
        _spot("new", 0.2),
    ]
    rows = {row.function: row.change for row in hotspot_diff(before, after)}
    assert rows == {"kuramoto": "shrank", "new": "appeared", "probe": "vanished", "io": "grew"}
    assert hotspot_diff(before, []) == []
    report = compare_reports(
        _report(1).model_copy(update={"hotspots": before}),
        _report(2).model_copy(update={"hotspots": after}),
    )
    assert report.hotspots[0].function == "kuramoto"  # largest move first


def test_hotspot_diff_uses_self_time_without_shares() -> None:
    def spot(function: str, self_ms: float) -> Hotspot:
        return Hotspot(profiler="pyspy", function=function, file="a.py", line=1, self_ms=self_ms)

    rows = hotspot_diff([spot("f", 900), spot("g", 100)], [spot("f", 500), spot("g", 500)])
    assert {r.function: r.change for r in rows} == {"f": "shrank", "g": "grew"}


def test_windows_of_different_sizes_warn() -> None:
    small = profile_report(_rounds(1, n=50))
    large = profile_report(_rounds(2, n=500))
    assert any("windows differ in size" in w for w in compare_reports(small, large).warnings)


def test_incomplete_report_warns() -> None:
    before = _report(1)
    before.complete = False
    assert any("incomplete" in w for w in compare_reports(before, _report(2)).warnings)


def test_require_profile_rejects_bad_inputs() -> None:
    good = _report(1)
    assert require_profile(good, "x") is good
    leak = leakcheck_report()
    with pytest.raises(ReportError, match="is a leakcheck report"):
        require_profile(leak, "leak.json")
    empty = good.model_copy(update={"latency_ms": good.latency_ms.model_copy(update={"count": 0})})
    with pytest.raises(ReportError, match="zero episodes"):
        require_profile(empty, "e.json")
    window = good.rounds[0].model_copy(update={"p50_ms": float("nan")})
    with pytest.raises(ReportError, match=r"rounds\[0\]\.p50_ms is nan"):
        require_profile(good.model_copy(update={"rounds": [window]}), "n.json")
    stage = good.stages["TIG"].model_copy(update={"p95_ms": -1.0})
    with pytest.raises(ReportError, match="stages.TIG.p95_ms is -1.0"):
        require_profile(good.model_copy(update={"stages": {"TIG": stage}}), "s.json")
    batch = WindowStats(index=0, episodes=1, mean_ms=1, p50_ms=1, p95_ms=1, p99_ms=1, max_ms=1,
                        stages={"TIG": {"p50_ms": float("inf")}})  # fmt: skip
    with pytest.raises(ReportError, match="batches"):
        require_profile(good.model_copy(update={"batches": [batch]}), "b.json")


def test_paired_compare_and_its_behaviour() -> None:
    rng = np.random.default_rng(3)
    factors = MODEL.machine(rng, (8,))
    a = [profile_report([x]) for x in MODEL.episodes(rng, (8,), 100) * factors]
    b = [profile_report([x]) for x in MODEL.episodes(rng, (8,), 100) * factors * 0.5]
    report = compare_paired(a, b, a_name="A (preset=baseline)", b_name="B (preset=optimized)")
    assert report.mode == "ab" and not report.blind_to_drift
    p50 = _row(report, "latency.p50")
    assert p50.verdict == "faster" and p50.n_before == 8
    assert p50.ratio == pytest.approx(0.5, rel=0.05)
    assert report.behaviour == "outputs identical"
    b[3].output_digest = "e" * 64
    again = compare_paired(a, b)
    assert again.behaviour == "not comparable"
    assert "not deterministic" in again.behaviour_detail
    with pytest.raises(ValueError):
        compare_paired(a, b[:-1])


def test_resources_steady_compare_as_is_noisy_need_windows() -> None:
    before, after = _report(1), _report(2)
    before.resources = before.resources.model_copy(
        update={"rss_mb_peak": 80.0, "cpu_percent_mean": 99.0}
    )
    after.resources = after.resources.model_copy(
        update={"rss_mb_peak": 120.0, "cpu_percent_mean": 50.0}
    )
    report = compare_reports(before, after)
    rss = _row(report, "rss.peak_mb")
    assert (rss.verdict, rss.method, rss.ratio) == ("worse", "single value", 1.5)
    cpu = _row(report, "cpu.ms_per_episode")
    assert cpu.verdict == "inconclusive" and cpu.note == "no per-window values"
    assert cpu.before == pytest.approx(99.0 * 10 / before.throughput_eps)


def test_input_warnings_are_carried() -> None:
    before = _report(1)
    before.warnings = ["the output digest differs between rounds (2 distinct)"]
    report = compare_reports(before, _report(2), before_name="b.json")
    assert "b.json: the output digest differs between rounds (2 distinct)" in report.warnings
