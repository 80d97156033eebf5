"""`ctool chaos` through the CLI: help, bad input, formats, the reference pipeline and a
pipeline built from third-party libraries (examples/docpipe.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paths import REPO, subprocess_env
from typer.testing import CliRunner

from ctool.chaos.plan import load_plan
from ctool.cli.app import app
from ctool.model.chaos_schema import ChaosReport
from ctool.model.io import load_report


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    yield tmp_path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["chaos", *args])


def test_help_names_the_plan_and_the_outcomes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in ("--plan", "--fault", "--proxy", "--live", "--abort-burn", "control", "wrong"):
        assert word in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no faults"),
        (("--fault", "boom:span:X"), "kind must be one of"),
        (("--fault", "error:MEA"), "target must be span:NAME or point:NAME"),
        (("--fault", "error:span:MEA:probability=2"), "probability must be <= 1"),
        (("--fault", "corrupt:span:MEA:mode=nan"), "spans see no values"),
        (("--fault", "latency:span:MEA:colour=red"), "takes no key 'colour'"),
        (("--fault", "cpu::"), "cpu needs threads"),
        (("--plan", "missing.toml"), "no such file"),
        (("--fault", "error:span:MEA", "--proxy", "db"), "--proxy expects NAME=HOST:PORT"),
        (("--fault", "partition:db:action=reset"), "no --proxy named 'db'"),
        (("--fault", "error:span:MEA", "--duration", "0"), "--duration must be positive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def test_a_bad_plan_file_is_named(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[[fault]]\nkind = "error"\ntarget = "span:A"\nprobability = "often"\n')
    result = invoke("--plan", str(plan))
    assert result.exit_code == 2
    assert "plan.toml fault 1: probability must be a number" in result.output


def test_the_day9_plan_is_valid_and_covers_the_kinds() -> None:
    plan = load_plan(REPO / "examples" / "chaos" / "day9.toml")
    kinds = {f.kind for f in plan.faults}
    assert {"error", "latency", "cpu", "memory", "fds", "starve"} <= kinds
    assert plan.run["duration_s"] > plan.fault_end_s  # room to see recovery


def test_json_and_markdown_of_a_run(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    page = tmp_path / "chaos.html"
    result = invoke(
        "-p", "chaos_pipelines:create", "--fault", "error:span:B:probability=0.1",
        "--episodes", "200", "-o", str(out), "-f", "markdown", "--html", str(page),
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "episodes (each counted once)" in result.output
    report = load_report(out)
    assert isinstance(report, ChaosReport)
    assert report.accounting.accounted and report.accounting.started == 200
    data = json.loads(out.read_text())
    assert data["kind"] == "chaos" and data["accounting"]["failed"]["RuntimeError"] > 0
    html = page.read_text()
    assert "Timeline" in html and html.count("<svg") >= 1 and "control p99" in html
    shown = CliRunner().invoke(app, ["report", str(out)])
    assert shown.exit_code == 0 and "ok" in shown.output


def test_the_reference_pipeline_under_errors_in_a_stage() -> None:
    result = invoke(
        "--fault", "error:span:MEA:probability=0.2,start_s=0.5,duration_s=0.5",
        "--duration", "1.5", "--window", "0.5", "-f", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.output)
    accounting = data["accounting"]
    assert accounting["accounted"] and accounting["failed"]["RuntimeError"] > 0
    assert data["faults"][0]["applied"] == accounting["failed"]["RuntimeError"]


def test_a_third_party_library_pipeline_under_faults() -> None:
    """examples/docpipe.py (PyYAML, networkx): errors in its route stage, a slow parse."""
    result = invoke(
        "-p", "examples.docpipe:create",
        "--fault", "error:span:route:probability=0.1,exception=KeyError",
        "--fault", "latency:span:parse:ms=2,mode=blocking,every=5",
        "--episodes", "60", "-f", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.output)
    accounting = data["accounting"]
    assert accounting["accounted"] and accounting["started"] == 60
    assert accounting["failed"]["KeyError"] == data["faults"][0]["applied"] > 0
    assert data["faults"][1]["applied"] == 12
    assert accounting["ok"] == 60 - accounting["failed"]["KeyError"]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def test_sigterm_removes_the_faults_and_writes_the_partial_report(tmp_path: Path) -> None:
    """SIGTERM while a CPU hog process is on (from 0.3 s into the experiment, so episodes
    have run): the hog ends, the partial report is written."""
    out = tmp_path / "partial.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ctool", "chaos", "-p", "chaos_pipelines:create",
            "--fault", "cpu::processes=1,start_s=0.3", "--fault", "fds::consume=50",
            "--duration", "3", "-o", str(out), "-q",
        ],
        env=subprocess_env(),
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )  # fmt: skip
    hogs: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not hogs and time.monotonic() < deadline and proc.poll() is None:
            hogs = _children(proc.pid)  # the hog process: the experiment's faults are on
            time.sleep(0.02)
        assert hogs, "the experiment never started its CPU hog"
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert b"terminated by SIGTERM" in err and b"partial report written" in err
    for pid in hogs:  # ended (and reaped) before the report was written
        assert not Path(f"/proc/{pid}").exists()
    report = load_report(out)
    assert isinstance(report, ChaosReport)
    assert not report.complete and report.incomplete_reason == "interrupted"
    assert report.accounting.accounted and report.accounting.started > 0
    assert report.leftovers.fds_after == report.leftovers.fds_before


def test_compare_of_two_chaos_reports(tmp_path: Path) -> None:
    """The same plan on a pipeline that lets NaN through and one that flags it."""
    fault = "corrupt:point:B.value:mode=nan,probability=0.2"
    paths = []
    for name, extra in (("plain", []), ("flags", ["--set", "flag=true"])):
        path = tmp_path / f"{name}.json"
        result = invoke(
            "-p", "chaos_pipelines:create", "--fault", fault, "--episodes", "300",
            "-o", str(path), "-q", *extra,
        )  # fmt: skip
        assert result.exit_code in (0, 1), result.output
        paths.append(str(path))
    result = CliRunner().invoke(app, ["compare", *paths, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "compare" and data["mode"] == "chaos"
    rows = {row["metric"]: row for row in data["metrics"]}
    escaped = rows["wrong escaped"]
    assert escaped["before"] > 0.1 and escaped["after"] == 0 and escaped["verdict"] == "better"
    assert rows["wrong caught"]["verdict"] == "better"  # the same ones, caught now
    table = CliRunner().invoke(app, ["compare", *paths])
    assert "mode: chaos reports" in table.output
