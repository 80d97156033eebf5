"""Real ``ctool`` processes for the signal tests: start one, wait for a condition (never a
fixed sleep), collect what it wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from paths import subprocess_env

DEADLINE_S = 90.0


def start(
    args: list[str],
    cwd: Path,
    ignored: tuple[int, ...] = (),
    *,
    new_group: bool = False,
    **env: str,
) -> subprocess.Popen[str]:
    """``python -m ctool ARGS``, with SIGINT, SIGTERM and SIGHUP at their defaults whatever
    the test run inherited (a suite run under ``nohup`` ignores SIGHUP); ``ignored``: signals
    the child starts with ignored (as a background job of a script starts with SIGINT
    ignored, or ``nohup`` with SIGHUP); ``new_group``: the child leads a process group of
    its own (signal it with ``os.killpg``, as a terminal's Ctrl-C reaches every process)."""

    def ignore() -> None:
        if new_group:
            os.setpgrp()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN if number in ignored else signal.SIG_DFL)

    return subprocess.Popen(
        [sys.executable, "-m", "ctool", *args],
        cwd=cwd,
        env=subprocess_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ignore,  # noqa: PLW1509 - the test process starts no threads before it
    )


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"ctool ended before the signal (exit {proc.returncode}): {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the pipeline never reached the point to signal")
        time.sleep(0.05)


def finish(proc: subprocess.Popen[str]) -> str:
    try:
        _, err = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("ctool did not stop after the signal")
    assert "Traceback" not in err, err
    return err


def children(pid: int) -> list[int]:
    listing = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in listing.split()]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def partial(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text())
    assert report["complete"] is False
    return report
