"""``ctool bisect`` on a real 64-commit repository: the real ab (CPU time) names the commit
that made a stage slower; the search's rules on a simulated ab whose truth is known."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bisect_repo import PIPELINE_REF, build_repo
from typer.testing import CliRunner

from ctool.ab.runner import ABPlan
from ctool.bisect.search import BisectPlan, max_runs, run_bisect
from ctool.cli.app import app
from ctool.model.schema import CompareReport


def fake_ab(hashes: list[str], culprit: int, ratio: float = 1.08):
    """An ab whose verdict follows the truth: B after the culprit and A before it -> worse."""
    index = {h: i + 1 for i, h in enumerate(hashes)}
    calls: list[ABPlan] = []

    def run(plan: ABPlan) -> CompareReport:
        calls.append(plan)
        assert plan.a.checkout is not None and plan.b.checkout is not None
        a, b = index[plan.a.checkout.name], index[plan.b.checkout.name]
        slower = (a < culprit) and (b >= culprit)
        r = ratio if slower else 1.0
        verdict = "worse" if r - 1 > plan.limit else "no significant change"
        data = {
            "kind": "compare", "created_at": "2026-01-01T00:00:00+00:00",
            "environment": {"python": "3.11", "implementation": "CPython", "platform": "x",
                            "cpu_model": "c", "cpu_count": 2, "hostname": "h"},
            "config": {"pipeline": plan.pipeline, "rounds": 4, "settings": {"a": "A", "b": "B"}},
            "before": "A", "after": "B", "mode": "ab", "blind_to_drift": False,
            "threshold": plan.limit, "behaviour": "outputs identical",
            "metrics": [{"metric": "cpu.ms_per_episode", "before": 1.0, "after": r, "ratio": r,
                         "ci_low": r * 0.98, "ci_high": r * 1.02, "verdict": verdict,
                         "gated": True}],
        }  # fmt: skip
        return CompareReport.model_validate(data)

    return run, calls


def test_the_search_follows_the_verdicts_and_skips_what_does_not_import(tmp_path: Path) -> None:
    hashes = build_repo(tmp_path / "repo", commits=64, culprit=37, broken=(32, 40))
    run, calls = fake_ab(hashes, culprit=37)
    plan = BisectPlan(tmp_path / "repo", hashes[0], hashes[-1], PIPELINE_REF, measure="cpu")
    result, reports = run_bisect(plan, run_step=run)
    assert result.outcome == "found"
    assert result.culprit == hashes[36]
    assert "transform does more work" in result.subject
    assert "stagedpipe.py" in result.diff_stat
    assert set(result.skipped) <= {hashes[31], hashes[39]} and result.skipped
    assert result.search_steps <= 8
    assert len(reports) == len(result.steps) == len(calls)
    # every step at the per-step alpha; the step threshold is half the endpoints' log ratio
    assert result.per_step_alpha == pytest.approx(0.05 / max_runs(63))
    assert all(c.alpha == result.per_step_alpha and c.until_decided for c in calls)
    assert calls[1].limit == pytest.approx(math.sqrt(1.08) - 1)


def test_no_regression_between_the_endpoints_stops_the_search(tmp_path: Path) -> None:
    hashes = build_repo(tmp_path / "repo", commits=8, culprit=99)
    run, calls = fake_ab(hashes, culprit=99)
    plan = BisectPlan(tmp_path / "repo", hashes[0], hashes[-1], PIPELINE_REF, measure="cpu")
    result, _ = run_bisect(plan, run_step=run)
    assert result.outcome == "no regression" and result.culprit is None
    assert len(calls) == 1
    assert "nothing to bisect" in result.message


def test_only_skipped_commits_left_names_them(tmp_path: Path) -> None:
    hashes = build_repo(tmp_path / "repo", commits=6, culprit=4, broken=(3, 4))
    run, _ = fake_ab(hashes, culprit=4)
    plan = BisectPlan(tmp_path / "repo", hashes[0], hashes[-1], PIPELINE_REF, measure="cpu")
    result, _ = run_bisect(plan, run_step=run)
    # commit 3 and 4 do not import, 5 repairs it: the culprit is 4 or 5 (or 3)
    assert result.outcome == "only skipped commits left"
    assert result.range_bad == hashes[4]


@pytest.mark.slow
@pytest.mark.serial
def test_bisect_names_commit_37_with_real_ab_runs(tmp_path: Path) -> None:
    """64 commits; commit 37 makes the transform stage 8 % slower (more loop iterations);
    commit 32 does not import. CPU time, small blocks, at most 14 rounds per step."""
    repo = tmp_path / "repo"
    hashes = build_repo(repo, commits=64, culprit=37, slowdown=0.08, broken=(32,))
    out = tmp_path / "bisect.json"
    result = CliRunner().invoke(
        app,
        ["bisect", "--good", hashes[0], "--bad", hashes[-1], "--pipeline", PIPELINE_REF,
         "--repo", str(repo), "--measure", "cpu", "--threshold", "3", "--block-ms", "20",
         "--blocks", "10", "--warmup", "5", "--rounds", "14", "-q", "-o", str(out),
         "--history", str(tmp_path / "h.db"), "--format", "markdown"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["culprit"] == hashes[36]
    assert sum(1 for s in data["steps"] if s["role"] == "search") <= 8
    assert data["skipped"] == {hashes[31]: "import failed: NameError: name 'this' is not defined"}
    assert "commit 37: transform does more work" in result.output
    history = CliRunner().invoke(app, ["history", "show", "--history", str(tmp_path / "h.db"),
                                       "--json"])  # fmt: skip
    assert history.exit_code == 0, history.output
    sources = {p["source"] for s in json.loads(history.output)["series"] for p in s["points"]}
    assert sources == {"bisect"}


def test_checkouts_and_their_import_checks_are_reused(tmp_path: Path) -> None:
    hashes = build_repo(tmp_path / "repo", commits=16, culprit=9, broken=(5,))
    plan = BisectPlan(tmp_path / "repo", hashes[0], hashes[-1], PIPELINE_REF, measure="cpu")
    first, _ = run_bisect(plan, run_step=fake_ab(hashes, culprit=9)[0])
    folder = tmp_path / "repo" / ".ctool" / "bisect" / "worktrees"
    markers = {p: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    assert len(markers) >= 4 and (folder / hashes[0] / "stagedpipe.py").is_file()
    again, _ = run_bisect(plan, run_step=fake_ab(hashes, culprit=9)[0])
    assert {p: p.stat().st_mtime_ns for p in folder.glob("*.json")} == markers
    assert again.culprit == first.culprit == hashes[8]
    assert again.skipped == first.skipped
