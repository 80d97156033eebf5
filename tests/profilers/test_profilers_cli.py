"""Profilers end to end through ``ctool profile``, in a subprocess like a user runs it.

The toy pipeline (``tests/helpers/toy_pipeline.py``) keeps each run to a second or two; the test
plugin (``profiling_helpers.install_test_plugin``) supplies a backend that can never run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from profiling_helpers import install_test_plugin

from ctool.profilers.registry import discover

TESTS = Path(__file__).resolve().parents[1] / "helpers"
BUILTINS = ["cprofile", "tracemalloc", "pyspy", "line", "memory"]
EXTRA_ARGS = {
    "pyspy": ["--pyspy-rate", "500", "--set", "work=3000"],  # enough samples in a short run
    "line": ["--line-target", "toy_pipeline:spin"],
    "memory": ["--memory-target", "toy_pipeline:hoard"],
}


def ctool(*args: str, plugin: Path | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    paths = [str(TESTS), *([str(plugin)] if plugin else []), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p), COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "ctool", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def profile(tmp_path: Path, *args: str, plugin: Path | None = None) -> tuple[Any, Any]:
    out = tmp_path / "report.json"
    done = ctool(
        "profile",
        "--pipeline",
        "toy_pipeline:create",
        "--set",
        "work=400",
        "--episodes",
        "30",
        "--warmup",
        "2",
        *args,
        "-o",
        str(out),
        "--quiet",
        plugin=plugin,
        cwd=tmp_path,
    )
    report = json.loads(out.read_text()) if done.returncode == 0 else None
    return done, report


@pytest.mark.parametrize("name", BUILTINS)
def test_each_builtin_backend_from_the_cli(name: str, tmp_path: Path) -> None:
    availability = discover()[name].create().availability()
    if not availability.ok:
        pytest.skip(f"{name} cannot run here: {availability.reason}")
    # A sampler can miss a short run on a loaded machine: run longer until it has samples
    # (a generous bound on the attempts, not a time).
    for episodes in (30, 120, 480, 1920):
        args = ("--profiler", name, "--top", "4", "--episodes", str(episodes))
        done, report = profile(tmp_path, *args, *EXTRA_ARGS.get(name, []))
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        rows = [row for row in report["hotspots"] if row["profiler"] == name]
        if rows or name != "pyspy":
            break
    assert 0 < len(rows) <= 4
    assert {row["stage"] for row in rows} <= {"TIG", "ESGT", None}
    (run,) = report["profilers"]
    assert run["name"] == name and run["ok"] and run["overhead_ratio"] > 0
    assert report["artifacts"]
    for path in report["artifacts"].values():
        assert (tmp_path / path).is_file() or Path(path).is_file()
    if name == "tracemalloc":
        assert run["metadata"]["episodes"] == 30  # handed over by the harness (first try)


def test_require_on_an_unavailable_backend_exits_2_with_one_line(tmp_path: Path) -> None:
    plugin = install_test_plugin(tmp_path / "site")
    done, _ = profile(tmp_path, "--profiler", "testunavailable", "--require", plugin=plugin)
    assert done.returncode == 2
    assert done.stderr == (
        "ctool: error: profiler 'testunavailable' cannot run here: needs the frobnicator device\n"
    )
    assert not (tmp_path / "report.json").exists()


def test_without_require_the_run_goes_on_with_a_warning(tmp_path: Path) -> None:
    plugin = install_test_plugin(tmp_path / "site")
    out = tmp_path / "report.json"
    done = ctool(
        "profile",
        "--pipeline",
        "toy_pipeline:create",
        "--episodes",
        "10",
        "--profiler",
        "testunavailable",
        "--profiler",
        "cprofile",
        "-o",
        str(out),
        plugin=plugin,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    warning = "profiler 'testunavailable' cannot run here: needs the frobnicator device"
    assert warning in " ".join((done.stdout + done.stderr).split())
    report = json.loads(out.read_text())
    assert [run["name"] for run in report["profilers"]] == ["cprofile"]
    assert any(row["profiler"] == "cprofile" for row in report["hotspots"])


def test_clashing_profilers_exit_2(tmp_path: Path) -> None:
    done, _ = profile(tmp_path, "--profiler", "cprofile", "--profiler", "line")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot run together" in done.stderr


def test_bottleneck_tables_on_screen(tmp_path: Path) -> None:
    done = ctool(
        "profile",
        "--pipeline",
        "toy_pipeline:create",
        "--set",
        "work=300",
        "--episodes",
        "20",
        "--profiler",
        "cprofile",
        "--profiler",
        "tracemalloc",
        "--top",
        "3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "cProfile: top 3 hotspots" in done.stdout
    assert "in flight" in done.stdout and "retained" in done.stdout  # tracemalloc's columns
    assert "spin" in done.stdout
