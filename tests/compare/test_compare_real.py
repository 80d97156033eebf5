"""Real runs: `ctool profile` / `ctool ab` on the reference pipeline, baseline vs optimized.

Small episode counts keep each test to seconds; the inline health probe samples every 2 ms
(`probe_interval_ms`, a knob that changes no output) so baseline stays affordable while still
blocking the loop.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ctool.model.io import load_report
from ctool.model.schema import CompareReport

FAST_PROBE = ["--set", "probe_interval_ms=2"]


def _ctool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctool", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real")
    paths = {}
    for preset in ("baseline", "optimized"):
        paths[preset] = root / f"{preset}.json"
        proc = _ctool(
            "profile", "--preset", preset, "--rounds", "4", "--episodes", "25", "--warmup", "3",
            *FAST_PROBE, "--quiet", "-o", str(paths[preset]),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return paths


@pytest.mark.slow
def test_compare_baseline_vs_optimized(profiles: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp.json"
    proc = _ctool(
        "compare", str(profiles["baseline"]), str(profiles["optimized"]),
        "--fail-on-regression", "-o", str(out), "--format", "markdown",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = load_report(out)
    assert isinstance(report, CompareReport)
    assert report.mode == "rounds" and not report.blind_to_drift
    p50 = next(r for r in report.metrics if r.metric == "latency.p50")
    assert p50.verdict == "faster"
    assert p50.ratio is not None and p50.ratio < 0.5  # a large speed-up
    assert report.behaviour == "outputs identical"
    assert {"settings.kuramoto", "config.preset"} <= {d.field for d in report.environment_diff}
    assert "🟢" in proc.stdout and "outputs identical" in proc.stdout
    # The other way round it is a regression: exit 1 with the gate, 0 without.
    backwards = [str(profiles["optimized"]), str(profiles["baseline"])]
    assert _ctool("compare", *backwards, "--fail-on-regression").returncode == 1
    assert _ctool("compare", *backwards).returncode == 0
    # --fail-on-change gates only the named metric: exit 1 exactly when the rss row changed
    # (peak RSS of the two presets can differ by a few percent, so either may happen).
    rss_out = tmp_path / "rss.json"
    gated = _ctool("compare", *backwards, "--fail-on-change", "--gate", "rss", "-o", str(rss_out))
    rss_report = load_report(rss_out)
    assert isinstance(rss_report, CompareReport)
    assert rss_report.changes in ([], ["rss.peak_mb"])
    assert gated.returncode == (1 if rss_report.changes else 0), gated.stderr


@pytest.mark.slow
def test_ab_baseline_vs_optimized(tmp_path: Path) -> None:
    out = tmp_path / "ab.json"
    common = ["--rounds", "4", "--blocks", "2", "--episodes", "8", "--warmup", "2", "--quiet"]
    proc = _ctool(
        "ab", "--a", "preset=baseline,probe_interval_ms=2",
        "--b", "preset=optimized,probe_interval_ms=2", *common,
        "--fail-on-regression", "--format", "json", "-o", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = CompareReport.model_validate(json.loads(proc.stdout))
    assert report.mode == "ab"
    p50 = next(r for r in report.metrics if r.metric == "latency.p50")
    assert p50.verdict == "faster" and p50.n_before == 4
    assert p50.ratio is not None and p50.ratio < 0.5
    assert report.behaviour == "outputs identical"
    assert load_report(out) == report


@pytest.mark.slow
def test_ab_two_checkouts_gate_a_regression(tmp_path: Path) -> None:
    """Two checkouts of a user's pipeline: the new one does 3x the arithmetic per episode."""
    _toy_checkouts(tmp_path, {"old": 20_000, "new": 60_000}, outputs=True)
    proc = _ctool(
        "ab", "--pipeline", "toypipe:create",
        "--a-pipeline", str(tmp_path / "old"), "--b-pipeline", str(tmp_path / "new"),
        "--rounds", "4", "--blocks", "2", "--episodes", "5", "--warmup", "0", "--quiet",
        "--fail-on-regression",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "regression in latency.p50" in proc.stderr
    assert "slower" in proc.stdout
    assert "outputs changed" in proc.stdout  # the sums differ: the check sees it


@pytest.mark.slow
def test_ab_measure_cpu_gates_cpu_time(tmp_path: Path) -> None:
    """--measure cpu: the gated row is the episode thread's CPU time; 3x the work is worse."""
    _toy_checkouts(tmp_path, {"old": 20_000, "new": 60_000})
    proc = _ctool(
        "ab", "--pipeline", "toypipe:create", "--measure", "cpu",
        "--a-pipeline", str(tmp_path / "old"), "--b-pipeline", str(tmp_path / "new"),
        "--rounds", "3", "--blocks", "2", "--episodes", "3", "--warmup", "0", "--quiet",
        "--format", "json", "--fail-on-regression",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = CompareReport.model_validate(json.loads(proc.stdout))
    assert report.measure == "cpu" and report.regressions == ["cpu.ms_per_episode"]
    assert "CPU time of the episode's thread" in report.measure_note


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs Valgrind (.ci/run installs it)")
def test_callgrind_round_counts_a_real_2_percent_change(tmp_path: Path) -> None:
    """One round under Valgrind (this VM has no perf counters): B does 2 % more iterations
    of real work; the toggled counts see +2 % with the pair's hash seed."""
    from ctool.ab.process import callgrind_round
    from ctool.ab.runner import ABPlan, parse_side

    _toy_checkouts(tmp_path, {"old": 20_000, "new": 20_400})
    plan = ABPlan(
        a=parse_side("A", "", str(tmp_path / "old")),
        b=parse_side("B", "", str(tmp_path / "new")),
        pipeline="toypipe:create", measure="instructions", episodes=2, warmup=0,
    )  # fmt: skip
    result = callgrind_round(plan, hash_seed=12345)
    a = result.a_blocks[0]["instructions.per_episode"]
    b = result.b_blocks[0]["instructions.per_episode"]
    assert a > 1e6 and b / a == pytest.approx(1.02, abs=0.005)
    assert list(tmp_path.glob("*.out")) == []  # Valgrind's files went to a removed scratch


def _toy_checkouts(root: Path, works: dict[str, int], outputs: bool = False) -> None:
    """A checkout per name of a user's pipeline ``toypipe:create`` doing ``work`` steps."""
    for name, work in works.items():
        (root / name).mkdir()
        hook = f"    def outputs(self, result):\n        return {{'i': result - {work}}}\n"
        (root / name / "toypipe.py").write_text(
            "class Toy:\n"
            "    def episode(self, index):\n"
            f"        return sum(i * i % 7 for i in range({work})) + index\n"
            + (hook if outputs else "")
            + "def create(seed=0):\n"
            "    return Toy()\n"
        )
