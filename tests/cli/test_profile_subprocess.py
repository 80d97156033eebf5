"""`ctool profile` as a real subprocess (``python -m ctool``): files, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ctool.model.io import load_report
from ctool.model.schema import ProfileReport

REPO = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parents[1] / "helpers"


def _env() -> dict[str, str]:
    paths = [str(REPO), str(TESTS), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    env.pop("NO_COLOR", None)
    return env


def ctool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ctool", "profile", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_example_pipeline_report_file(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = ctool(
        "-p", "examples.etl_pipeline:create", "--episodes", "40", "-o", str(out), "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    report = load_report(out)
    assert isinstance(report, ProfileReport) and report.complete
    lat = report.latency_ms
    assert lat.count == 40 and lat.p50 <= lat.p95 <= lat.p99 <= lat.max
    assert {"extract", "transform", "transform.validate", "load"} <= set(report.stages)
    assert report.environment.python and report.output_digest
    assert json.loads(out.read_text())["schema_version"] == 1


def test_bad_pipeline_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = ctool("-p", "no_such_module_xyz:create", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("ctool: error: cannot import pipeline module")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def _wait_for(path: Path, proc: subprocess.Popen[str], deadline: float, what: str) -> None:
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_ctrl_c_writes_a_partial_report_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "partial.json"
    marker = tmp_path / "started"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ctool", "profile", "-p", "harness_pipelines:create",
            "--duration", "60", "--warmup", "0", "--set", f"marker={marker}",
            "-o", str(out), "--quiet",
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # Every episode touches the marker as it starts (warm-up 0: all are measured). Once
        # it exists, remove it: when it is back, a later episode has started, so at least
        # one measured episode has finished and the partial report cannot be empty.
        deadline = time.monotonic() + 60
        _wait_for(marker, proc, deadline, "the run never started")
        marker.unlink()
        _wait_for(marker, proc, deadline, "no episode finished")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr == f"ctool: interrupted; partial report written to {out}\n"
    report = load_report(out)
    assert isinstance(report, ProfileReport)
    assert report.complete is False
    assert report.latency_ms.count > 0
    assert report.duration_s is not None and report.duration_s < 60
