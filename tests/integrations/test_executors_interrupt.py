"""Ctrl-C during a replicated run: the replicas' episodes so far are kept (a partial report,
exit 130), the replicas are stopped and a LocalCluster ctool started is closed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from replica_helpers import free_port, get_text, subprocess_env

TESTS = Path(__file__).resolve().parents[1] / "helpers"
QUICK = "harness_pipelines:create"
DEADLINE_S = 120.0


def _wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ctool exited early ({proc.returncode}) waiting for {what}")
        try:
            if condition():
                return
        except (OSError, ValueError, psutil.Error):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _interrupt_and_check(
    proc: subprocess.Popen[str], out: Path, signum: int = signal.SIGINT
) -> list[psutil.Process]:
    family = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 128 + signum, stderr  # 130 for Ctrl-C, 143 for SIGTERM
    report = json.loads(out.read_text())
    assert report["complete"] is False and report["incomplete_reason"] == "interrupted"
    assert report["latency_ms"]["count"] > 0  # the episodes measured before the interrupt
    assert report["replicas"] and report["replicas"][0]["episodes"] > 0
    _, alive = psutil.wait_procs(family, timeout=DEADLINE_S)
    assert not alive, f"left running: {alive}"
    return family


def test_ctrl_c_keeps_what_local_workers_measured(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ctool", "profile", "--pipeline", QUICK, "--workers", "2",
            "--duration", "60", "--warmup", "0", "-q", "-o", str(out),
        ],
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def a_worker_is_measuring() -> bool:
        workers = psutil.Process(proc.pid).children()
        return any(w.cpu_times().user > 0.5 for w in workers)

    try:
        _wait_for(a_worker_is_measuring, "a worker process to run episodes", proc)
        family = _interrupt_and_check(proc, out)
        assert len(family) == 2
    finally:
        if proc.poll() is None:
            proc.kill()


def _episodes(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("ctool_episodes_total "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_dask_replicas_and_closes_the_local_cluster(
    tmp_path: Path, signum: int
) -> None:
    pytest.importorskip("distributed", reason='needs the dask extra: pip install "ctool[dask]"')
    out = tmp_path / "r.json"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ctool", "profile", "--pipeline", QUICK, "--executor", "dask",
            "--workers", "2", "--duration", "60", "--warmup", "0", "-q", "-o", str(out),
            "--metrics-port", str(port),
        ],
        env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    targets = f"http://127.0.0.1:{port}/targets"

    def replica_0_counts_episodes() -> bool:
        groups = json.loads(get_text(targets))
        replicas = {g["labels"]["replica"]: g["targets"][0] for g in groups}
        return "0" in replicas and _episodes(get_text(f"http://{replicas['0']}/metrics")) > 0

    try:
        _wait_for(replica_0_counts_episodes, "replica 0 to export episodes", proc)
        family = _interrupt_and_check(proc, out, signum)
        assert len(family) >= 2  # the LocalCluster's worker processes (and their nannies)
    finally:
        if proc.poll() is None:
            proc.kill()
