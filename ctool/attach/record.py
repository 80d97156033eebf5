"""Record a foreign process with py-spy: every thread, idle samples included.

``--idle`` keeps the samples of a thread that waits (the event loop in its selector, a
``time.sleep`` on the loop): without them a stall and the loop's idle time look alike (both
absent). ``--nonblocking`` reads the stacks without pausing the target (a service must not
pay for being watched; ``CTOOL_PYSPY_BLOCKING=1`` pauses it per sample, for untorn stacks).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from ctool.model.errors import UsageError
from ctool.profilers.pyspy import ENV_BLOCKING, explain_failure, find_binary

PROBE_TIMEOUT_S = 15.0
STOP_GRACE_S = 10.0


def check_target(pid: int) -> tuple[str, str]:
    """The py-spy binary and the target's command line; a one-line error for a missing
    process, a missing py-spy or a ptrace refusal (with what to do)."""
    import psutil

    if pid <= 0 or not psutil.pid_exists(pid):
        raise UsageError(f"--pid {pid}: no such process")
    if pid == os.getpid():
        raise UsageError(f"--pid {pid} is ctool itself; profile a script with --script")
    try:
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        cmdline = "?"
    binary = find_binary()
    if binary is None:
        raise UsageError("--pid needs py-spy: pip install py-spy")
    try:
        done = subprocess.run(
            [binary, "dump", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"--pid {pid}: py-spy could not run: {exc}") from None
    if done.returncode != 0:
        if not psutil.pid_exists(pid):
            raise UsageError(f"--pid {pid}: the process ended")
        raise UsageError(f"--pid {pid}: {explain_failure(done.stderr + chr(10) + done.stdout)}")
    return binary, cmdline


def blocking_asked() -> bool:
    return os.environ.get(ENV_BLOCKING, "").strip().lower() in ("1", "true", "yes", "on")


def record_argv(binary: str, pid: int, *, duration_s: float, rate: int, path: Path) -> list[str]:
    """py-spy's command line (``benchmarks/attach_overhead.py`` runs exactly this)."""
    argv = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--idle"]
    argv += ["--duration", str(max(1, round(duration_s))), "--format", "speedscope"]
    argv += ["--output", str(path)]
    if not blocking_asked():
        argv.append("--nonblocking")
    return argv


def record(binary: str, pid: int, *, duration_s: float, rate: int, path: Path) -> dict[str, Any]:
    """Sample ``pid`` for ``duration_s`` (whole seconds) at ``rate`` Hz; the speedscope
    document, with ``interrupted`` set when Ctrl-C stopped it early (py-spy writes what it
    has) and ``pyspy_output``, py-spy's own words.
    """
    argv = record_argv(binary, pid, duration_s=duration_s, rate=rate, path=path)
    path.unlink(missing_ok=True)
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches ctool, which stops py-spy itself
    )
    interrupted = False
    try:
        output, _ = process.communicate()
    except KeyboardInterrupt:
        interrupted = True
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        output, _ = process.communicate()
    if not path.exists():
        raise UsageError(f"--pid {pid}: {explain_failure(output or '')}")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document["interrupted"] = interrupted
    document["pyspy_output"] = output or ""
    return document
