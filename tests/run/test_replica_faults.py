"""A dead replica never takes the others' episodes with it (issue 26, defects 3 and 4), and
every replica treats an episode's outputs as one process does.

Real worker processes; the replica that dies dies by a real ``SIGKILL`` (or ``os._exit``) of
its own process (``dying_pipelines``): the first process past a few episodes claims a marker
file and dies, so replica 0 (or round 0) is the one lost, and the truth is known by
construction: the survivors' episodes, every one, are in the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from paths import subprocess_env

EPISODES = 20
TIMEOUT_S = 120


def _profile(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ctool", "profile", "-q", "-o", str(out), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), timeout=TIMEOUT_S
    )


def _dying(tmp_path: Path, how: str) -> list[str]:
    marker = tmp_path / "claimed"
    return [
        "--pipeline", "dying_pipelines:die_once", "--set", f"marker={marker}",
        "--set", f"how={how}", "--set", "after=5", "--episodes", str(EPISODES),
        "--warmup", "1",
    ]  # fmt: skip


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_replica_0_dying_keeps_the_other_replicas_episodes(tmp_path: Path, how: str) -> None:
    out = tmp_path / "k.json"
    proc = _profile(out, *_dying(tmp_path, how), "--workers", "2")
    assert proc.returncode == 3, proc.stderr
    assert "incomplete: replica 0 (pid " in proc.stderr
    report = json.loads(out.read_text())
    assert report["complete"] is False and report["incomplete_reason"] == "replica-failed"
    rows = {row["index"]: row for row in report["replicas"]}
    assert rows[0]["failed"] and rows[1]["failed"] is None
    assert rows[1]["episodes"] == EPISODES  # replica 1 ran its part in full
    assert report["latency_ms"]["count"] == EPISODES  # ... and its episodes are the headline


def test_a_round_whose_worker_dies_is_exit_3_with_the_other_rounds(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = _profile(out, *_dying(tmp_path, "exit"), "--rounds", "2")
    assert proc.returncode == 3, proc.stderr
    assert "incomplete: round 0 (pid " in proc.stderr
    report = json.loads(out.read_text())
    assert report["complete"] is False and report["incomplete_reason"] == "replica-failed"
    assert [r["episodes"] for r in report["rounds"]] == [EPISODES]  # round 1, in full
    assert report["latency_ms"]["count"] == EPISODES
    rows = report["replicas"]
    assert [r["index"] for r in rows] == [0, 1]
    assert "exit code 7" in rows[0]["failed"] and rows[1]["failed"] is None


def test_every_round_dying_is_still_a_report_and_exit_3(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = _profile(
        out, "--pipeline", "dying_pipelines:die_always", "--rounds", "2", "--episodes", "20"
    )
    assert proc.returncode == 3, proc.stderr
    report = json.loads(out.read_text())
    assert report["complete"] is False and report["latency_ms"]["count"] == 0
    assert all("exit code 7" in row["failed"] for row in report["replicas"])


def test_workers_fail_undigestable_outputs_as_one_process_does(tmp_path: Path) -> None:
    args = ["--pipeline", "dying_pipelines:undigestable", "--episodes", "15", "--warmup", "1"]
    one = _profile(tmp_path / "one.json", *args)
    two = _profile(tmp_path / "two.json", *args, "--workers", "2")
    assert one.returncode == two.returncode == 1, (one.stderr, two.stderr)
    for name, replicas in (("one.json", 1), ("two.json", 2)):
        report = json.loads((tmp_path / name).read_text())
        assert report["latency_ms"]["count"] == 0
        assert report["errors"]["count"] == 15 * replicas  # every episode failed
