"""`ctool ab`: sides, the plan, the interleaving, interrupts and the command's exit codes.

The half rounds here come from the synthetic model through an injected runner; the real
subprocess path is exercised on its error handling here and end to end in
``tests/test_compare_real.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ctool.analysis.synthetic import LatencyModel, profile_report
from ctool.cli.app import app
from ctool.harness import ab
from ctool.harness.ab import ABInterrupted, ABPlan, Side, parse_side, profile_command, run_ab
from ctool.model.errors import UsageError
from ctool.model.io import load_report, write_report
from ctool.model.schema import CompareReport, ProfileReport

MODEL = LatencyModel()


def test_parse_side() -> None:
    side = parse_side("A", "preset=baseline, phi_cache=false,nodes=16", None)
    assert side.preset == "baseline"
    assert side.settings == ("phi_cache=false", "nodes=16")
    assert side.name == "A (preset=baseline, phi_cache=false,nodes=16)"
    assert parse_side("B", "", "pkg.mod:create").pipeline == "pkg.mod:create"
    assert parse_side("B", "pipeline=x.y:make", None).pipeline == "x.y:make"
    assert parse_side("A", None, None) == Side("A")


def test_parse_side_checkout(tmp_path: Path) -> None:
    side = parse_side("B", "preset=optimized", str(tmp_path))
    assert side.checkout == tmp_path.resolve() and side.pipeline is None
    assert str(tmp_path) in side.name


@pytest.mark.parametrize(
    ("spec", "pipeline", "fragment"),
    [
        ("preset", None, "--a expects key=value"),
        ("=x", None, "--a expects key=value"),
        ("", "not-a-ref", "--a-pipeline expects module:factory or a checkout"),
    ],
)
def test_parse_side_errors(spec: str, pipeline: str | None, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_side("A", spec, pipeline)


def test_profile_command_for_a_side(tmp_path: Path) -> None:
    plan = ABPlan(a=Side("A"), b=Side("B"), episodes=50, warmup=5, seed=3)
    side = parse_side("B", "preset=optimized,phi_cache=false", None)
    command = profile_command(plan, side, tmp_path / "o.json")
    assert command[:4] == [sys.executable, "-m", "ctool", "profile"]
    text = " ".join(command)
    assert "--pipeline ctool.pipeline:create --seed 3 --episodes 50 --warmup 5 --quiet" in text
    assert "--preset optimized --set phi_cache=false" in text


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"rounds": 5}, "use at least 6"),
        ({"rounds": 7, "alpha": 0.01}, "use at least 8"),
        ({"episodes": 0}, "--episodes"),
        ({"warmup": -1}, "--warmup"),
        ({"keep": Path("/nonexistent-dir")}, "--keep"),
        ({"order": "ba"}, "--order expects abba or ab"),
    ],
)
def test_plan_checks(changes: dict[str, object], fragment: str) -> None:
    plan = ABPlan(a=Side("A"), b=Side("B"), **changes)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=fragment):
        plan.check()


class FakeRunner:
    """Half rounds from the model: one machine factor per round, shared by A and B."""

    def __init__(self, effect: float, seed: int = 0, stop_at: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.effect = effect
        self.stop_at = stop_at
        self.calls: list[tuple[str, int]] = []
        self.factors: dict[int, float] = {}

    def __call__(self, plan: ABPlan, side: Side, index: int, out: Path) -> ProfileReport:
        if self.stop_at is not None and len(self.calls) == self.stop_at:
            raise KeyboardInterrupt
        self.calls.append((side.label, index))
        if index not in self.factors:  # the round's machine state, whichever half runs first
            self.factors[index] = float(MODEL.machine(self.rng, ())[0])
        scale = self.factors[index] * (1 + self.effect if side.label == "B" else 1.0)
        report = profile_report([MODEL.episodes(self.rng, (), plan.episodes) * scale])
        write_report(report, out)
        return report


def test_run_ab_interleaves_and_keeps_reports(tmp_path: Path) -> None:
    runner = FakeRunner(effect=0.3)
    seen: list[str] = []
    plan = ABPlan(
        a=Side("A", "preset=baseline"), b=Side("B"), rounds=6, episodes=100, keep=tmp_path
    )
    report = run_ab(plan, runner=runner, progress=lambda i, side, r: seen.append(side.label))
    # A B, B A, A B, ...: the side that runs second alternates.
    assert runner.calls == [
        (label, i) for i in range(6) for label in ("AB" if i % 2 == 0 else "BA")
    ]
    assert seen == ["A", "B", "B", "A"] * 3
    assert sorted(p.name for p in tmp_path.iterdir())[:3] == ["A-01.json", "A-02.json", "A-03.json"]
    assert report.mode == "ab" and report.complete
    assert report.before == "A (preset=baseline)" and report.after == "B"
    assert report.regressions == ["latency.p50"]
    assert report.config.rounds == 6 and report.config.command == "ctool ab"


def test_run_ab_strict_order() -> None:
    runner = FakeRunner(effect=0.0)
    run_ab(ABPlan(a=Side("A"), b=Side("B"), rounds=6, order="ab"), runner=runner)
    assert runner.calls == [(label, i) for i in range(6) for label in "AB"]


def test_run_ab_interrupt_carries_a_partial_report() -> None:
    with pytest.raises(ABInterrupted) as info:
        run_ab(ABPlan(a=Side("A"), b=Side("B"), rounds=6), runner=FakeRunner(0.0, stop_at=5))
    partial = info.value.report
    assert partial is not None and not partial.complete
    assert partial.config.rounds == 2  # the third round had only one half
    assert partial.metrics[0].verdict == "inconclusive"


def _cli(monkeypatch: pytest.MonkeyPatch, runner: FakeRunner, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(ab, "subprocess_runner", runner)
    result = CliRunner().invoke(app, ["ab", "--rounds", "6", "--episodes", "100", *args])
    return result.exit_code, result.stdout, result.stderr


def test_ab_command_outputs_and_gates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "ab.json"
    code, out, err = _cli(
        monkeypatch, FakeRunner(0.3), "--a", "preset=baseline", "--b", "preset=optimized",
        "--fail-on-regression", "-o", str(target),
    )  # fmt: skip
    assert code == 1, err
    assert "regression in latency.p50" in err
    assert err.count("round ") == 12  # progress: one line per half round
    assert "slower" in out and "interleaved A/B, 6 paired rounds" in out
    saved = load_report(target)
    assert isinstance(saved, CompareReport) and saved.mode == "ab"
    code, out, err = _cli(monkeypatch, FakeRunner(-0.3), "--fail-on-regression", "--quiet")
    assert code == 0 and err == ""
    code, out, _ = _cli(monkeypatch, FakeRunner(-0.3), "--fail-on-change", "--format", "json", "-q")
    assert code == 1
    assert json.loads(out)["changes"] == ["latency.p50"]
    code, out, _ = _cli(monkeypatch, FakeRunner(0.0), "--format", "markdown", "-q")
    assert code == 0 and out.startswith("### ⚪ ctool ab: no gated change")


def test_ab_command_interrupted_writes_partial(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "ab.json"
    code, _, err = _cli(monkeypatch, FakeRunner(0.0, stop_at=7), "-q", "-o", str(target))
    assert code == 130 and "interrupted" in err
    partial = load_report(target)
    assert isinstance(partial, CompareReport) and not partial.complete


def test_ab_command_bad_options(monkeypatch: pytest.MonkeyPatch) -> None:
    for args, fragment in (
        (["--rounds", "3"], "use at least 6"),
        (["--a", "oops"], "--a expects key=value"),
        (["--gate", "p7"], "unknown metric"),
        (["--threshold", "x"], "--threshold"),
    ):
        result = CliRunner().invoke(app, ["ab", *args])
        assert result.exit_code == 2, args
        assert fragment in result.stderr and result.stderr.count("\n") == 1


def test_subprocess_runner_reports_a_failing_half_in_one_line(tmp_path: Path) -> None:
    """A real `python -m ctool profile` child that refuses its options: exit 2, one line."""
    plan = ABPlan(a=Side("A"), b=Side("B"), episodes=2, warmup=0)
    side = parse_side("A", "no_such_setting=1", None)
    with pytest.raises(UsageError) as info:
        ab.subprocess_runner(plan, side, 0, tmp_path / "x.json")
    assert info.value.message.startswith("A (no_such_setting=1): ")
    assert "\n" not in info.value.message
