"""``ctool history add|show|check`` and ``--history`` on profile, through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from history_records import make_record
from paths import GOLDEN, REPO
from typer.testing import CliRunner

from ctool.cli.app import app
from ctool.history.gitinfo import CommitInfo
from ctool.history.record import record_from_report
from ctool.history.store import open_store
from ctool.model.io import load_report
from ctool.model.schema import ProfileReport


def git_repo(where: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "HOME": str(where), "PATH": "/usr/bin:/bin"}  # fmt: skip
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", *args], cwd=where, env=env, check=True)
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True)
    return out.stdout.strip()


def test_profile_history_records_a_third_party_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = git_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    runner = CliRunner()
    args = ["profile", "--pipeline", "examples.docpipe:create", "--episodes", "6",
            "--warmup", "1", "-q", "--history", "h.db"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    shown = runner.invoke(app, ["history", "show", "--history", "h.db", "--json"])
    assert shown.exit_code == 0, shown.output
    series = {s["metric"]: s for s in json.loads(shown.output)["series"]}
    assert {"latency.p50", "throughput", "stage.parse.p50_ms"} <= set(series)
    point = series["latency.p50"]["points"][0]
    assert point["commit"] == head and point["source"] == "profile"
    assert series["latency.p50"]["machine_info"]["cores"] >= 1


def test_records_read_pipeline_metrics_generically() -> None:
    report = load_report(GOLDEN / "reports" / "profile.json")
    assert isinstance(report, ProfileReport)
    report.pipeline_metrics["accuracy"] = {"value": 0.93, "unit": "%", "better": "higher"}
    report.pipeline_metrics["label"] = "text is not a metric"
    record = record_from_report(report, CommitInfo("c" * 40), source="add")
    metrics = {m.name: m for m in record.metrics}
    assert metrics["pipeline.accuracy"].value == 0.93
    assert metrics["pipeline.accuracy"].lower_is_better is False
    assert not any(name.startswith("pipeline.label") for name in metrics)
    assert any(name.startswith("pipeline.messages.") for name in metrics)
    assert record.samples is not None and record.machine_info["cores"] >= 1


def stepped_store(path: Path, step_at: int | None) -> None:
    with open_store(str(path)) as store:
        store.add(
            [
                make_record(
                    i,
                    10.0
                    * (1 + 0.004 * ((i * 7) % 5 - 2))
                    * (1.1 if step_at is not None and i >= step_at else 1.0),
                )
                for i in range(1, 41)
            ]  # fmt: skip
        )


def test_check_fails_on_a_regression_at_the_newest_commits_naming_its_range(
    tmp_path: Path,
) -> None:
    stepped_store(tmp_path / "h.db", step_at=36)
    runner = CliRunner()
    result = runner.invoke(app, ["history", "check", "--history", str(tmp_path / "h.db")])
    assert result.exit_code == 1, result.output
    before, after = make_record(35, 0).commit.commit, make_record(36, 0).commit.commit
    assert f"{before[:12]}..{after[:12]}" in result.output
    assert "latency.p50 +10.0%" in result.output
    quiet = runner.invoke(app, ["history", "check", "--history", str(tmp_path / "h.db"),
                                "--threshold", "12"])  # fmt: skip
    assert quiet.exit_code == 0, quiet.output


def test_check_passes_without_a_regression_and_show_draws_the_trend(tmp_path: Path) -> None:
    stepped_store(tmp_path / "flat.db", step_at=None)
    runner = CliRunner()
    flat = runner.invoke(app, ["history", "check", "--history", str(tmp_path / "flat.db")])
    assert flat.exit_code == 0 and "no regression" in flat.output
    stepped_store(tmp_path / "old.db", step_at=10)  # a step, but not a recent one
    old = runner.invoke(app, ["history", "check", "--history", str(tmp_path / "old.db")])
    assert old.exit_code == 0, old.output
    page = tmp_path / "trend.html"
    shown = runner.invoke(app, ["history", "show", "--history", str(tmp_path / "old.db"),
                                "--html", str(page)])  # fmt: skip
    assert shown.exit_code == 0
    assert "slower" in shown.output and "at 00000010" in shown.output
    assert "CPU of m1" in shown.output
    text = page.read_text()
    sha = make_record(10, 0).commit.commit
    assert f'href="#{sha}"' in text and f'id="{sha}"' in text and 'class="change"' in text


@pytest.mark.parametrize(
    "args",
    [
        ["history", "add", "missing.json"],
        ["history", "show", "--alpha", "2"],
        ["history", "show", "--commit-url", "https://x/"],
        ["history", "check", "--recent", "0"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*args, "--history", str(tmp_path / "h.db")])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_ab_report_gives_ratios_with_their_intervals(tmp_path: Path) -> None:
    report = load_report(GOLDEN / "reports" / "ab.json")
    record = record_from_report(report, CommitInfo("c" * 40), source="ab")
    ratios = [m for m in record.metrics if m.name.startswith("ab.")]
    assert ratios and all(m.name.endswith(".ratio") and m.unit == "x" for m in ratios)
    gated = [m for m in ratios if m.low is not None]
    assert gated and all(m.low <= m.value <= m.high for m in gated)  # type: ignore[operator]
    assert record.settings["a"] and record.kind == "compare"


def test_without_psycopg_the_error_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from ctool.model.errors import UsageError

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(UsageError, match=r'pip install "ctool\[history-postgres\]"') as err:
        open_store("postgresql://me:secret@127.0.0.1/db")
    assert "secret" not in err.value.message
