"""One stop path for every command (issue 21 item 2, issue 26 defects 1 and 2).

Real ``ctool`` processes, real signals: whatever the signal and whenever it comes (during a
round, before the first round ends, twice in quick succession), the partial report marked
``complete: false`` goes to every target asked for (``-o`` and ``--html``), one line on
stderr says so, and the exit code names the signal. Each test waits for a marker the
pipeline writes, or for a line ctool prints, before it signals.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from cli_processes import DEADLINE_S, finish, partial, start, wait_until

SLOW = "misbehaving_pipelines:async_slow"


def _ab(tmp_path: Path, *extra: str) -> list[str]:
    marker = tmp_path / "ten"
    return [
        "ab", "--pipeline", SLOW, "--a", f"marker={marker}", "--b", f"marker={marker}",
        "--warmup", "0", "--blocks", "2", "-o", "ab.json", "--html", "ab.html", *extra,
    ]  # fmt: skip


def _written(tmp_path: Path, err: str, sig: int) -> dict[str, object]:
    name = "interrupted" if sig == signal.SIGINT else f"terminated by {signal.Signals(sig).name}"
    assert f"ctool: {name}; partial report written to ab.json and ab.html" in err, err
    page = (tmp_path / "ab.html").read_text()
    assert "<html" in page.lower()
    return partial(tmp_path / "ab.json")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ab_stopped_after_a_round_writes_json_and_html(tmp_path: Path, sig: int, code: int) -> None:
    proc = start(_ab(tmp_path, "--rounds", "20", "--episodes", "4"), tmp_path)
    assert proc.stderr is not None
    lines: list[str] = []
    while not any(line.startswith("round 2/") for line in lines):  # two rounds are done
        line = proc.stderr.readline()
        if not line:
            pytest.fail(f"ab ended early: {''.join(lines)}")
        lines.append(line)
    proc.send_signal(sig)
    err = finish(proc)
    assert proc.returncode == code, "".join(lines) + err
    report = _written(tmp_path, err, sig)
    assert 2 <= report["config"]["rounds"] < 20  # type: ignore[index]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ab_stopped_before_its_first_round_ends_writes_an_empty_partial_report(
    tmp_path: Path, sig: int, code: int
) -> None:
    """The first round's workers have run ten episodes of blocks of 1000 (the marker): no
    round is finished, and the report says so (no rounds, inconclusive), in both files."""
    proc = start(_ab(tmp_path, "--rounds", "3", "--episodes", "1000"), tmp_path)
    wait_until((tmp_path / "ten").exists, proc)
    proc.send_signal(sig)
    err = finish(proc)
    assert proc.returncode == code, err
    report = _written(tmp_path, err, sig)
    assert report["config"]["rounds"] == 0  # type: ignore[index]


@pytest.mark.parametrize("gap_ms", [50, 300])
def test_a_second_sigterm_soon_after_the_first_keeps_the_report(
    tmp_path: Path, gap_ms: int
) -> None:
    """Defect 1: the second SIGTERM landed while the report was being assembled (numpy
    imported, the JSON written) and the report was lost: exit 143, no file."""
    marker = tmp_path / "ten"
    proc = start(
        ["profile", "-p", SLOW, "--set", f"marker={marker}", "--duration", "30",
         "--warmup", "0", "-o", "out.json", "--html", "out.html"],
        tmp_path,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    proc.send_signal(signal.SIGTERM)
    time.sleep(gap_ms / 1000)  # the defect's own timing: the gap is what is tested
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 143, err
    assert "terminated by SIGTERM; partial report written to out.json and out.html" in err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] >= 10
    assert (tmp_path / "out.html").stat().st_size > 0


def test_ctrl_c_twice_to_the_process_group_keeps_the_report(tmp_path: Path) -> None:
    """Defect 1, as a terminal sends it: SIGINT to the whole process group, twice."""
    marker = tmp_path / "ten"
    proc = start(
        ["profile", "-p", SLOW, "--set", f"marker={marker}", "--duration", "30",
         "--warmup", "0", "--workers", "2", "-o", "out.json"],
        tmp_path,
        new_group=True,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    err = finish(proc)
    assert proc.returncode == 130, err
    assert "interrupted; partial report written to out.json" in err
    partial(tmp_path / "out.json")


def test_sigterm_on_a_hung_sync_episode_names_sigterm(tmp_path: Path) -> None:
    """The line that says the stop waits for the running episode names the signal that
    stops it now: SIGTERM, not Ctrl-C, when SIGTERM came."""
    marker = tmp_path / "hung"
    proc = start(
        ["profile", "-p", "misbehaving_pipelines:sync_hangs", "--set", "at=5",
         "--set", f"marker={marker}", "--episodes", "100", "--warmup", "0", "-o", "out.json"],
        tmp_path,
    )  # fmt: skip
    wait_until(marker.exists, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    deadline = time.monotonic() + DEADLINE_S
    line = ""
    while "stopping after" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    assert "SIGTERM again stops now" in line, line
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 143, err
    assert partial(tmp_path / "out.json")["latency_ms"]["count"] == 5
    assert json.loads((tmp_path / "out.json").read_text())["complete"] is False
