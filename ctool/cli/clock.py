"""When this ctool process started, on the monotonic clock: ``ab``'s time budget counts from
it, interpreter start-up included, so that a budget of 60 s bounds the whole command.

:func:`mark` is called once by :func:`ctool.cli.app.main` (the console script and
``python -m ctool``); commands invoked in process (tests, ``CliRunner``) leave it unset and
count from their own start.
"""

from __future__ import annotations

import os
import time

started: float | None = None


def process_age() -> float:
    """Seconds since this process was created (Linux ``/proc``); 0 where unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces; the fields after it are plain.
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            now = float(uptime.read().split()[0])
        return max(0.0, now - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def mark() -> None:
    global started
    started = time.monotonic() - process_age()
