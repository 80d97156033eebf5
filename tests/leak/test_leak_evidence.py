"""A leakcheck verdict needs evidence (issue 26, defects 5 and 6): a pipeline whose episodes
mostly fail is an error, never "clean"; a leak proven beyond doubt stops the run, and the
process never grows past the memory budget (``--max-rss``). Real ``ctool leakcheck``
processes; the truth is known by construction (every episode raises; so many bytes kept
per episode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paths import subprocess_env

MIB = 1 << 20
TIMEOUT_S = 180


def _leakcheck(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ctool", "leakcheck", "-q", "-o", str(out), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), timeout=TIMEOUT_S
    )


def test_a_pipeline_whose_episodes_all_fail_is_an_error_not_clean(tmp_path: Path) -> None:
    out = tmp_path / "l.json"
    proc = _leakcheck(
        out, "--pipeline", "misbehaving_pipelines:all_fail", "--episodes", "100",
        "--every", "10", "--warmup", "5",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "105 of 105 episodes failed" in proc.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] != "clean"
    assert "105 of 105 episodes failed" in report["reason"]
    assert report["errors"]["count"] == 105
    assert sum(report["errors"]["by_type"].values()) == 105


def test_a_big_leak_stops_as_soon_as_proven_under_the_memory_budget(tmp_path: Path) -> None:
    # 256 KiB kept per episode: the first round (200 episodes) keeps 50 MiB; at that rate
    # the horizon (10,000 episodes) would need 2.5 GiB more than the 1 GiB budget allows.
    out = tmp_path / "l.json"
    proc = _leakcheck(
        out, "--pipeline", "dying_pipelines:touching_leak", "--set", f"leak_bytes={256 * 1024}",
        "--episodes", "200", "--every", "10", "--warmup", "5", "--max-rss", "1024",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "leak", report["reason"]
    assert report["episodes"] == 200  # proven after the first round: no second one
    assert "1024 MiB" in report["reason"]
    assert report["budget"]["max_rss"] == 1024 * MIB


def test_the_process_never_grows_past_max_rss(tmp_path: Path) -> None:
    # 1 MiB kept per episode, a budget of 400 MiB: the first round alone (2,000 episodes)
    # would need 2 GiB. The run stops at the budget, with a verdict on what it measured.
    out = tmp_path / "l.json"
    budget = 400
    proc = _leakcheck(
        out, "--pipeline", "dying_pipelines:touching_leak", "--set", f"leak_bytes={MIB}",
        "--episodes", "2000", "--every", "10", "--warmup", "5", "--max-rss", str(budget),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "leak", report["reason"]
    assert report["episodes"] < 2000
    peak = max(s["rss_bytes"] for s in report["samples"])
    assert peak <= (budget + 10) * MIB  # at most one sample interval (10 MiB) past it
    assert report["budget"]["exhausted"] is True
