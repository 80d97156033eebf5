"""``ctool ab --measure instructions`` without perf counters: workers under Valgrind.

Why callgrind with a toggle, not cachegrind twice: cachegrind has no in-process toggle, so
it needs an N-episode run minus a zero-episode run (four Valgrind processes per round), and
the difference of two counts of some 10^8 instructions of start-up carries whatever the
start-ups differ by. ``callgrind --collect-atstart=no`` counts nothing until the worker
calls ``CALLGRIND_TOGGLE_COLLECT`` (through a small compiled helper,
``native/callgrind_toggle.c``) just before its measured episodes and again just after: two
processes per round, and a count that holds the measured episodes only.

Each round runs A and B at the same time (instruction counts do not depend on the other
core's load), each under ``valgrind --tool=callgrind``, with the round's ``PYTHONHASHSEED``.
Valgrind runs code 20-70x slower and serialises threads; the worker starts no thread of its
own (no sampler, watchdog or profiler), so the count is the episodes' (plus any thread the
pipeline itself starts while they run).

The helper is found at ``$CTOOL_CALLGRIND_TOGGLE`` (``.ci/run`` builds it there), else built
on first use into ``~/.cache/ctool`` with ``cc``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ctool.model.errors import CtoolError, UsageError

SOURCE = Path(__file__).parent / "native" / "callgrind_toggle.c"
HEADER = Path("/usr/include/valgrind/callgrind.h")
INSTALL = "apt-get install -y valgrind gcc"


def toggle_library() -> Path:
    """The compiled toggle helper: ``$CTOOL_CALLGRIND_TOGGLE``, the cache, or built now."""
    given = os.environ.get("CTOOL_CALLGRIND_TOGGLE")
    if given:
        if not Path(given).is_file():
            raise UsageError(f"CTOOL_CALLGRIND_TOGGLE={given}: no such file")
        return Path(given)
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = Path.home() / ".cache" / "ctool" / f"callgrind-toggle-{digest}.so"
    if target.is_file():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not HEADER.is_file():
        raise UsageError(
            "--measure instructions: no perf counters here, and building the Valgrind toggle "
            f"needs a C compiler and Valgrind's headers ({INSTALL})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    proc = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(partial), str(SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise CtoolError(f"building the callgrind toggle failed: {proc.stderr.strip()[-300:]}")
    partial.replace(target)
    return target


def valgrind_command(out_file: Path) -> list[str]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise UsageError(
            "--measure instructions: this machine exposes no perf counters and has no "
            f"Valgrind ({INSTALL})"
        )
    return [
        valgrind,
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--callgrind-out-file={out_file}",
        sys.executable,
    ]


def read_total(out_file: Path) -> int:
    """The instructions (``Ir``) a callgrind output file counted."""
    for line in out_file.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise CtoolError(f"{out_file}: no totals line (did the worker finish?)")


class Toggle:
    """The helper, loaded in the worker (``ctool.ab.worker``)."""

    def __init__(self, library: str) -> None:
        import ctypes

        self.lib = ctypes.CDLL(library)

    def toggle(self) -> None:
        self.lib.ctool_callgrind_toggle()
