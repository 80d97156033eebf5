"""`ctool profile --pid N`: py-spy on a running process the test starts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paths import HELPERS
from typer.testing import CliRunner

from ctool.attach.runner import AttachConfig, run_attach
from ctool.attach.stalls import find_stalls
from ctool.cli.app import app
from ctool.profilers.pyspy import find_binary, probe

TARGET = HELPERS / "attach_target.py"


def line_of(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


@pytest.fixture
def target() -> Iterator[int]:
    binary = find_binary()
    if binary is None or not probe(binary).ok:
        pytest.skip("py-spy cannot read processes here (missing, or ptrace refused)")
    process = subprocess.Popen([sys.executable, str(TARGET)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_attach_names_the_hot_function_and_the_50ms_blocking_call(
    target: int, tmp_path: Path
) -> None:
    report = run_attach(AttachConfig(pid=target, duration_s=3, artifacts_dir=tmp_path))
    top = [h.function for h in report.hotspots[:3]]
    assert any("hot_function" in name for name in top), top
    sleep_line = line_of(TARGET, "the 50 ms blocking call")
    stalls = [c for c in report.resources.blocking_calls if c.line == sleep_line]
    assert stalls, report.resources.blocking_calls
    assert stalls[0].function == "serve"
    assert stalls[0].count >= 5  # one every ~0.2 s for 3 s
    assert stalls[0].max_ms >= 20  # at least two consecutive samples (10 ms each) in it
    assert report.resources.rss_mb_peak and report.resources.cpu_percent_mean is not None
    assert report.resources.timeline


def test_the_cli_writes_a_report_that_compares(target: int, tmp_path: Path) -> None:
    out = tmp_path / "attach.json"
    result: Any = CliRunner().invoke(
        app, ["profile", "--pid", str(target), "--duration", "1", "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    compared: Any = CliRunner().invoke(app, ["compare", str(out), str(out)])
    assert compared.exit_code in (0, 1) and "Traceback" not in compared.output


def test_stalls_are_runs_outside_the_selector_wait() -> None:
    """A constructed document: the truth is known sample by sample."""
    frames = [
        {"name": "BaseEventLoop._run_once", "file": "/usr/lib/python3/asyncio/base_events.py"},
        {"name": "EpollSelector.select", "file": "/usr/lib/python3/selectors.py"},
        {"name": "handler", "file": "/srv/app.py", "line": 7},
    ]
    wait, busy = [0, 1], [0, 2]
    samples = [wait, busy, busy, busy, wait, busy, wait, busy, busy, wait]
    document = {
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": "Thread 1",
                "unit": "seconds",
                "samples": samples,
                "weights": [0.01] * len(samples),
            }
        ],
    }
    summary = find_stalls(document, threshold_ms=15, interval_s=0.01)
    assert summary.stalls == 2  # 3 samples and 2 samples; the lone one is below 2 samples
    assert summary.stalled_ns == 50_000_000
    (site,) = summary.sites.values()
    assert (site.function, site.line, site.count) == ("handler", 7, 2)


@pytest.mark.parametrize(
    ("fake", "needle"),
    [
        ("echo 'Error: Permission Denied (os error 13)' >&2; exit 1", "ptrace is not permitted"),
        (
            "echo 'Error: Failed to find python version from target process' >&2; exit 1",
            "py-spy failed: Failed to find python version",
        ),
        (None, "--pid needs py-spy: pip install py-spy"),
    ],
)
def test_py_spy_refusals_are_one_line_with_what_to_do(
    fake: str | None, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in py-spy (``CTOOL_PYSPY``) answers as the real one does when refused."""
    binary = tmp_path / "py-spy"
    if fake is not None:
        binary.write_text(f"#!/bin/sh\n{fake}\n")
        binary.chmod(0o755)
    monkeypatch.setenv("CTOOL_PYSPY", str(binary))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        result: Any = CliRunner().invoke(app, ["profile", "--pid", str(sleeper.pid)])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert len(result.output.strip().splitlines()) == 1
