"""`ctool profile` on the reference pipeline: stages, metrics, and the blocking health probe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.model.io import load_report
from ctool.model.schema import BlockingCall, ProfileReport

pytest.importorskip("ctool.pipeline")

STAGES = {"TIG", "ESGT", "MEA", "MCEA", "MMEI"}


def _profile(*args: str) -> ProfileReport:
    result = CliRunner().invoke(app, ["profile", "--format", "json", *args])
    assert result.exit_code == 0, result.stderr
    return ProfileReport.model_validate(json.loads(result.stdout))


def _names_the_probe(call: BlockingCall) -> bool:
    text = f"{call.function} {call.callee or ''} {call.file}"
    return "psutil" in text or "HealthProbe" in text


@pytest.fixture(scope="module")
def baseline() -> ProfileReport:
    return _profile("--preset", "baseline", "--episodes", "25", "--warmup", "2")


@pytest.fixture(scope="module")
def optimized() -> ProfileReport:
    return _profile("--preset", "optimized", "--episodes", "150", "--warmup", "5")


def test_the_five_stages_and_phi_nested_in_mcea(optimized: ProfileReport) -> None:
    assert set(optimized.stages) >= STAGES
    assert optimized.stages["MCEA.phi"].parent == "MCEA"
    assert optimized.stages["MCEA.phi"].depth == 1
    assert "(between stages)" in optimized.stages
    top = [s.share for s in optimized.stages.values() if s.depth == 0]
    assert sum(top) == pytest.approx(1.0)
    assert optimized.bottleneck in STAGES
    lat = optimized.latency_ms
    assert lat.count == 150 and lat.p50 <= lat.p95 <= lat.p99 <= lat.max
    assert optimized.config.preset == "optimized"
    assert optimized.output_digest


def test_pipeline_metrics_are_reported(optimized: ProfileReport) -> None:
    metrics = optimized.pipeline_metrics
    assert {"p50_ms", "p95_ms", "cache_hits", "cache_misses", "hit_rate"} <= set(metrics["phi"])
    assert {"count", "bytes", "bytes_per_s"} <= set(metrics["messages"])
    assert "ignitions" in metrics


def test_baseline_names_the_blocking_health_probe(baseline: ProfileReport) -> None:
    probe = [
        b for b in baseline.resources.blocking_calls if b.kind == "blocking" and _names_the_probe(b)
    ]
    assert probe, baseline.resources.blocking_calls
    assert probe[0].stage == "MMEI"
    assert probe[0].function == "HealthProbe._read"
    assert probe[0].callee is not None and probe[0].callee.startswith("psutil.")


def test_optimized_does_not_name_the_probe(optimized: ProfileReport) -> None:
    assert not [b for b in optimized.resources.blocking_calls if _names_the_probe(b)]


def test_same_outputs_for_both_presets(baseline: ProfileReport) -> None:
    optimized_25 = _profile("--preset", "optimized", "--episodes", "25", "--warmup", "2")
    assert baseline.output_digest == optimized_25.output_digest


def test_reference_pipeline_as_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ctool", "profile", "--episodes", "40", "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    report = load_report(out)
    assert isinstance(report, ProfileReport)
    assert report.config.pipeline == "ctool.pipeline:create"
    assert set(report.stages) >= STAGES and report.latency_ms.count == 40
