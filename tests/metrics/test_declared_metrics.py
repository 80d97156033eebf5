"""Pipeline-declared metrics (issue 21 item 3; issue 25 item 6), end to end.

``declared_pipeline`` declares a ratio where higher is better (its cache hit rate) and a
latency distribution (its lookups' p50); a bigger cache raises the one and lowers the other
by construction, and more rounds per miss multiply its CPU time. Compare rows with
verdicts, Prometheus series and HTML rows follow from the declarations alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ctool.analysis.compare import compare_reports
from ctool.model.errors import UsageError
from ctool.model.io import load_report
from ctool.model.schema import ProfileReport
from ctool.reports.html import render_html
from ctool.reports.registry import render
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

REPO = Path(__file__).resolve().parents[2]
OWN = ("memo.hit_rate", "fetch.p50_ms")


def profile(pipeline: str = "declared_pipeline:create", **settings: Any) -> ProfileReport:
    episodes = settings.pop("episodes", 200)
    config = RunConfig(
        pipeline=pipeline, episodes=episodes, warmup=5, settings=settings, block_threshold_ms=0
    )
    return run_profile(config)


def row(report: Any, metric: str) -> Any:
    return next(r for r in report.metrics if r.metric == metric)


@pytest.fixture(scope="module")
def small_and_big() -> tuple[ProfileReport, ProfileReport]:
    return profile(cache_size=2), profile(cache_size=48)


def test_declared_metrics_reach_report_compare_prometheus_and_html(
    small_and_big: tuple[ProfileReport, ProfileReport],
) -> None:
    small, big = small_and_big
    assert [d.name for d in big.metrics_declared] == list(OWN)
    for batch in big.batches:  # per-batch values, from the checkpoints at batch edges
        assert set(OWN) <= set(batch.metrics) and "cpu.ms_per_episode" in batch.metrics
        assert "(between stages)" in batch.stages
    report = compare_reports(small, big)
    hit = row(report, "pipeline.memo.hit_rate")
    assert hit.verdict == "better" and hit.label == "memo hit rate" and not hit.lower_is_better
    assert hit.ci_low is not None and 1 < hit.ci_low <= hit.ratio <= hit.ci_high
    fetch = row(report, "pipeline.fetch.p50_ms")
    assert fetch.verdict == "faster" and fetch.unit == "ms" and fetch.ci_high < 1
    between = row(report, "stage.(between stages).p50")
    assert between.method != "single value" and between.n_before == 20
    assert "memo hit rate" in render(report, "markdown")
    assert "pipeline.fetch.p50_ms" in render_html(report)
    page = render_html(big)
    assert "Declared metrics" in page and "fetch p50" in page and "memo hit rate" in page
    series = prometheus_series(big)
    assert series["ctool_pipeline_memo_hit_rate"] == pytest.approx(
        big.pipeline_metrics["memo"]["hit_rate"]
    )
    assert series["ctool_pipeline_fetch_p50_ms"] > 0


def prometheus_series(report: ProfileReport) -> dict[str, float]:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from ctool.exporters.prometheus import PrometheusObserver

    observer = PrometheusObserver(0)
    try:
        observer.on_declared(report.metrics_declared)
        observer.on_metrics(report.pipeline_metrics)
        text = generate_latest(observer.registry).decode()
    finally:
        observer.close()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_no_ctool_code_names_a_declared_metric() -> None:
    """What the rows, series and cells above show came from the declarations alone."""
    for path in (REPO / "ctool").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in (*OWN, "memo_hit_rate", "fetch_p50", "fetch p50", "memo hit rate"):
            assert not re.search(rf"\b{re.escape(name)}\b", text), (path, name)


def test_cpu_per_episode_changed_tenfold_gets_a_verdict_with_an_interval() -> None:
    """Issue 25: no longer "inconclusive: no per-window values"."""
    cheap = profile(cache_size=1, miss_rounds=20, episodes=100)
    dear = profile(cache_size=1, miss_rounds=200, episodes=100)
    cpu = row(compare_reports(cheap, dear), "cpu.ms_per_episode")
    assert cpu.verdict == "worse" and cpu.method != "single value"
    assert cpu.ci_low is not None and cpu.ci_high is not None
    assert 4 < cpu.ci_low <= cpu.ratio <= cpu.ci_high < 25, cpu


def test_the_reference_pipeline_declares_its_metrics_by_the_same_route() -> None:
    on = profile("ctool.pipeline:create", episodes=80)
    off = profile("ctool.pipeline:create", episodes=80, phi_cache=False)
    names = [d.name for d in on.metrics_declared]
    assert {"phi.p50_ms", "phi.hit_rate", "phi.cache_hits"} <= set(names)
    report = compare_reports(on, off)
    assert report.behaviour == "outputs identical"
    hit = row(report, "pipeline.phi.hit_rate")
    assert hit.label == "Φ cache hit rate" and hit.verdict in ("worse", "same")
    assert row(report, "pipeline.phi.cache_hits").unit == "per episode"


def test_a_v1_report_loads_renders_and_compares() -> None:
    """Golden v1 reports (Φ in ``pipeline_metrics``, no declarations) read as declared."""
    old = load_report(REPO / "tests" / "golden" / "reports" / "profile.json")
    assert isinstance(old, ProfileReport) and old.declared_metrics is None
    assert [d.name for d in old.metrics_declared] == ["phi.p50_ms", "phi.p95_ms", "phi.hit_rate"]
    report = compare_reports(old, old)
    assert row(report, "pipeline.phi.hit_rate").verdict == "same"
    assert '"declared_metrics"' not in render(old, "json")  # rewritten, still v1 form


def test_a_bad_declaration_is_one_usage_error() -> None:
    from ctool.workload.loader import PipelineAdapter

    class Bad:
        async def episode(self, index: int) -> None:
            return None

        def metric_specs(self) -> list[dict[str, Any]]:
            return [{"name": "x", "kind": "histogram"}]

    with pytest.raises(UsageError, match=r"metric_specs\(\): 'x': kind"):
        PipelineAdapter(Bad(), "t:bad").declared_metrics()


def test_the_etl_example_declares_metrics_that_compare_judges() -> None:
    """An example pipeline written against sqlite3 and json: same seed, twice the batch.
    Rows loaded per episode double (a counter, per episode); the accepted share holds."""
    small = profile("examples.etl_pipeline:create", episodes=60, batch=20)
    large = profile("examples.etl_pipeline:create", episodes=60, batch=40)
    assert all("rows.accepted" in b.metrics for b in large.batches)
    report = compare_reports(small, large)
    loaded = row(report, "pipeline.rows.count")
    assert loaded.unit == "rows/episode" and loaded.label == "rows loaded"
    assert loaded.ratio == pytest.approx(2.0, rel=0.2)
    accepted = row(report, "pipeline.rows.accepted")
    assert accepted.verdict in ("same", "no significant change", "within noise"), accepted
    assert not accepted.lower_is_better
