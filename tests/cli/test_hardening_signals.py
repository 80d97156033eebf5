"""Signals sent to real ``ctool`` processes (the hardening corpus, issue 14).

SIGTERM and SIGHUP act like Ctrl-C: a partial report marked ``complete: false`` and exit
143 / 129 (130 for SIGINT). Worker processes and ``ab``'s half rounds are ended and reaped,
temporary folders removed, and what was measured before the signal is kept. Each test waits
for a marker the pipeline writes (never a fixed sleep) before it sends the signal.
"""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_processes import DEADLINE_S, children, finish, gone, partial, start, wait_until


def profiling_async(
    tmp_path: Path, *extra: str, ignored: tuple[int, ...] = ()
) -> subprocess.Popen[str]:
    """``ctool profile`` of a slow async pipeline for 60 s (plus ``extra`` options), once its
    tenth episode has run (the pipeline writes a marker); the report goes to ``out.json``."""
    marker = tmp_path / "ten"
    proc = start(
        ["profile", "-p", "misbehaving_pipelines:async_slow", "--set", f"marker={marker}",
         *extra, "--duration", "60", "--warmup", "0", "-o", "out.json"],
        tmp_path, ignored,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    return proc


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_write_a_partial_report(tmp_path: Path, sig: int, code: int) -> None:
    proc = profiling_async(tmp_path)
    proc.send_signal(sig)
    err = finish(proc)
    assert proc.returncode == code, err
    assert f"terminated by {signal.Signals(sig).name}; partial report written to out.json" in err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] >= 10


def test_first_ctrl_c_stops_after_the_blocking_sync_episode(tmp_path: Path) -> None:
    marker = tmp_path / "blocking"
    proc = start(
        ["profile", "-p", "misbehaving_pipelines:sync_slow", "--set", "ms=700",
         "--set", f"marker={marker}", "--episodes", "1000", "--warmup", "0", "-o", "out.json"],
        tmp_path,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    proc.send_signal(signal.SIGINT)  # once: the episode in progress finishes, then the run stops
    err = finish(proc)
    assert proc.returncode == 130, err
    assert 1 <= partial(tmp_path / "out.json")["latency_ms"]["count"] < 1000


def test_second_ctrl_c_on_a_hung_sync_episode_keeps_what_was_measured(tmp_path: Path) -> None:
    marker = tmp_path / "hung"
    proc = start(
        ["profile", "-p", "misbehaving_pipelines:sync_hangs", "--set", "at=25",
         "--set", f"marker={marker}", "--episodes", "100", "--warmup", "0", "-o", "out.json"],
        tmp_path,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], DEADLINE_S)  # the first one is answered
    assert ready and "stopping after the episode now running" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    err = finish(proc)
    assert proc.returncode == 130, err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] == 25


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_workers_are_reaped_and_their_episodes_kept(tmp_path: Path, sig: int, code: int) -> None:
    proc = profiling_async(tmp_path, "--workers", "2")
    workers = children(proc.pid)
    assert len(workers) == 2
    proc.send_signal(sig)
    err = finish(proc)
    assert proc.returncode == code, err
    assert all(gone(pid) for pid in workers)
    assert "BrokenPipeError" not in err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] >= 10


def test_ab_ends_its_half_round_removes_its_folder_and_keeps_finished_rounds(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = start(
        ["ab", "--a", "preset=baseline", "--b", "preset=optimized", "--rounds", "20",
         "--episodes", "20", "--warmup", "2", "-o", "ab.json"],
        tmp_path,
        TMPDIR=str(scratch),
    )  # fmt: skip
    assert proc.stderr is not None
    lines: list[str] = []
    while not any(line.startswith("round 3/") for line in lines):  # rounds 1 and 2 are done
        line = proc.stderr.readline()
        if not line:
            pytest.fail(f"ab ended early: {''.join(lines)}")
        lines.append(line)
    half_rounds = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 143, "".join(lines) + err
    # A pair being started at the signal ends when its pipe closes: wait for it, bounded.
    deadline = time.monotonic() + DEADLINE_S
    while any(not gone(pid) for pid in half_rounds) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in half_rounds)
    assert list(scratch.iterdir()) == []  # its ctool-ab-* folder is gone
    assert partial(tmp_path / "ab.json")["config"]["rounds"] >= 2


def test_sigterm_during_leakcheck_writes_a_partial_report(tmp_path: Path) -> None:
    marker = tmp_path / "ten"
    proc = start(
        ["leakcheck", "-p", "misbehaving_pipelines:async_slow", "--set", f"marker={marker}",
         "--episodes", "100000", "--warmup", "0", "-o", "leak.json", "-q"],
        tmp_path,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 143, err
    partial(tmp_path / "leak.json")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_started_with_sigint_ignored_still_writes_a_partial_report(
    tmp_path: Path, sig: int, code: int
) -> None:
    """A background job of a non-interactive shell starts with SIGINT ignored; ctool still
    stops on SIGINT and SIGTERM with a partial report (asyncio hooks SIGINT only while its
    handler is the default one, which ctool restores)."""
    proc = profiling_async(tmp_path, ignored=(signal.SIGINT,))
    proc.send_signal(sig)
    err = finish(proc)
    assert proc.returncode == code, err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] > 0


def test_nohup_keeps_sighup_ignored(tmp_path: Path) -> None:
    """Under ``nohup`` (SIGHUP ignored at start) a SIGHUP does not stop the run; the SIGTERM
    sent after it does (an ignored signal is discarded when sent, so the order holds)."""
    proc = profiling_async(tmp_path, ignored=(signal.SIGHUP,))
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 143, err
    assert "terminated by SIGTERM" in err
    partial(tmp_path / "out.json")
