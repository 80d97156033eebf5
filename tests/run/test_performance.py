"""The performance plan in quick mode: verdict logic and deterministic facts, never timings.

One quick suite run of the reference pipeline is shared by the module; the assertions check
that every scenario ran and judged consistently, and the facts that do not depend on the
machine's speed: output digests, Φ cache counts, error counts, rows present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.errors import UsageError
from ctool.model.schema import ScenarioResult, SuiteReport
from ctool.suite.runner import SuiteOptions, run_suite, select_scenarios
from ctool.suite.scenarios import SCENARIOS
from ctool.suite.targets import DEFAULT_TARGETS, find_target_overrides, resolve_targets

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_suite() -> SuiteReport:
    return run_suite(SuiteOptions(quick=True, targets=resolve_targets({})))


def _by_name(report: SuiteReport) -> dict[str, ScenarioResult]:
    return {r.name: r for r in report.scenarios}


def test_all_scenarios_ran_without_errors(quick_suite: SuiteReport) -> None:
    assert [r.id for r in quick_suite.scenarios] == list(range(1, 28))
    errors = {r.name: r.detail for r in quick_suite.scenarios if r.status == "error"}
    assert errors == {}
    assert quick_suite.complete
    assert quick_suite.passed + quick_suite.failed + quick_suite.skipped == 27


def test_target_verdicts_are_consistent_with_measured_values(quick_suite: SuiteReport) -> None:
    for result in quick_suite.scenarios:
        scenario = next(s for s in SCENARIOS if s.id == result.id)
        if scenario.target is None or result.status == "skipped":
            continue
        target = DEFAULT_TARGETS[scenario.target]
        if scenario.name in ("latency", "burst", "soak", "memory", "gain"):
            continue  # judged on several values; checked one by one below
        assert isinstance(result.measured, (int, float)), result
        assert (result.status == "pass") == target.met_by(float(result.measured)), result


def test_latency_rule_uses_p50_and_p95(quick_suite: SuiteReport) -> None:
    latency = _by_name(quick_suite)["latency"]
    data = latency.data
    assert data["p50_ms"] <= data["p95_ms"] <= data["p99_ms"] <= data["max_ms"]
    expected = data["p50_ms"] < 50 and data["p95_ms"] < 100
    assert (latency.status == "pass") == expected
    assert data["errors"] == 0


def test_reference_pipeline_facts(quick_suite: SuiteReport) -> None:
    by = _by_name(quick_suite)
    assert by["stages"].data["slowest"] in {"TIG", "ESGT", "MEA", "MCEA", "MMEI"}
    assert set(by["stages"].data["shares"]) >= {"TIG", "ESGT", "MEA", "MCEA", "MMEI"}
    levels = [row["concurrency"] for row in by["concurrency"].data["levels"]]
    assert levels == [1, 5, 10, 20, 50]
    assert all(row["errors"] == 0 for row in by["concurrency"].data["levels"])
    assert by["burst"].data["errors"] == 0
    assert by["burst"].data["queue_depth_max"] == 100
    assert [row["workers"] for row in by["scaling"].data["rows"]] == [1, 2]
    assert len(by["hotpath"].data["top10"]) == 10


def test_phi_cache_counts_are_deterministic(quick_suite: SuiteReport) -> None:
    phi = _by_name(quick_suite)["phi_cache"].data
    assert phi["cache_hits"] + phi["cache_misses"] > 0
    assert phi["hit_rate"] == pytest.approx(
        phi["cache_hits"] / (phi["cache_hits"] + phi["cache_misses"])
    )
    again = run_suite(
        SuiteOptions(quick=True, only=["phi_cache"], targets=resolve_targets({}))
    ).scenarios[0]
    assert (again.data["cache_hits"], again.data["cache_misses"]) == (
        phi["cache_hits"],
        phi["cache_misses"],
    )


def test_behaviour_preserved_between_presets(quick_suite: SuiteReport) -> None:
    behaviour = _by_name(quick_suite)["behaviour"]
    digests = behaviour.data["digests"]
    assert digests["baseline"] == digests["optimized"]
    assert behaviour.status == "pass"


def test_a_missed_target_fails_the_scenario() -> None:
    targets = resolve_targets({"p50_ms": 1e-6, "phi_hit_rate": 0.9999})
    report = run_suite(SuiteOptions(quick=True, only=["latency", "phi_cache"], targets=targets))
    assert [r.status for r in report.scenarios] == ["fail", "fail"]
    assert report.failed == 2


def test_correctness_metrics_on_the_reference_pipeline(quick_suite: SuiteReport) -> None:
    by = _by_name(quick_suite)
    assert by["integration"].status == "pass" and by["integration"].measured == 0
    assert by["phi_stability"].data["ignitions"] >= 20
    assert by["phi_stability"].measured < 5
    coherence = by["coherence"].data
    assert coherence["threshold"] == 0.7 and coherence["ignitions"] >= 20
    assert 0.0 <= coherence["share"] <= 1.0


def test_user_pipeline_skips_what_it_lacks() -> None:
    report = run_suite(
        SuiteOptions(
            pipeline="examples.etl_pipeline:create",
            quick=True,
            only=[
                "phi_latency",
                "phi_cache",
                "pool",
                "behaviour",
                "gain",
                "integration",
                "phi_stability",
                "coherence",
            ],  # fmt: skip
            targets=resolve_targets({}),
        )
    )
    status = {r.name: (r.status, r.detail) for r in report.scenarios}
    for name in ("phi_latency", "phi_cache", "pool", "behaviour", "gain", "integration"):
        assert status[name][0] == "skipped", status[name]
        assert status[name][1].startswith("skipped: ")


def test_cli_exit_codes_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    out = tmp_path / "suite.json"
    ok = runner.invoke(app, ["suite", "--quick", "--only", "latency,2", "-o", str(out), "-q"])
    assert ok.exit_code == 0, ok.output
    saved = json.loads(out.read_text())
    assert saved["kind"] == "suite" and saved["complete"] is True
    assert [s["id"] for s in saved["scenarios"]] == [1, 2]

    (tmp_path / "ctool.toml").write_text("[targets]\np50_ms = 0.000001\n")
    missed = runner.invoke(app, ["suite", "--quick", "--only", "latency", "-q"])
    assert missed.exit_code == 1

    (tmp_path / "ctool.toml").write_text("[targets]\nbanana = 3\n")
    bad = runner.invoke(app, ["suite", "--quick", "--only", "latency"])
    assert bad.exit_code == 2
    assert "unknown target 'banana'" in bad.output


def test_unknown_scenario_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown scenario"):
        select_scenarios(["nope"])
    assert [s.id for s in select_scenarios(["18", "latency"])] == [1, 18]


def test_targets_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ctool.targets]\np95_ms = 42\n")
    overrides, source = find_target_overrides(tmp_path)
    assert overrides == {"p95_ms": 42} and source is not None
    assert resolve_targets(overrides)["p95_ms"].value == 42.0
    with pytest.raises(UsageError, match="must be a number"):
        resolve_targets({"p95_ms": "fast"})


def test_pool_counts_are_deterministic(quick_suite: SuiteReport) -> None:
    pool = _by_name(quick_suite)["pool"].data
    assert pool["pooled"]["pool_acquired"] == pool["unpooled"]["pool_acquired"]
    assert pool["unpooled"]["pool_created"] == pool["unpooled"]["pool_acquired"]
    assert pool["pooled"]["pool_created"] < pool["unpooled"]["pool_created"]
