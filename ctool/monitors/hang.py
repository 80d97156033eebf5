"""Say so when a sync episode hangs: it cannot be cancelled in process, but it is not silent.

An ``async def episode`` that runs past ``--episode-timeout`` is cancelled (an error of kind
``timeout``). A sync episode blocks the event loop's thread; nothing in that process can stop
it. :class:`HangMonitor` is a thread that watches :attr:`LoadDriver.sync_started_ns` and calls
``on_hang`` once per episode that runs past the timeout: in process it warns (Ctrl-C then stops
the run after that episode, a second Ctrl-C at once, keeping what was measured); in a worker
process it ends the worker (``ctool.run.workers``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from time import perf_counter_ns
from typing import Protocol

POLL_S = 0.25


class _Driver(Protocol):
    timeout_s: float
    sync_started_ns: int | None


class HangMonitor:
    def __init__(self, driver: _Driver, on_hang: Callable[[float], None]) -> None:
        self.driver = driver
        self.on_hang = on_hang
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HangMonitor:
        if self.driver.timeout_s > 0:
            self._thread = threading.Thread(target=self._run, name="ctool-hang", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        reported: int | None = None
        limit_ns = self.driver.timeout_s * 1e9
        while not self._stop.wait(POLL_S):
            started = self.driver.sync_started_ns
            if started is None or started == reported:
                continue
            running_ns = perf_counter_ns() - started
            if running_ns > limit_ns:
                reported = started
                self.on_hang(running_ns / 1e9)


def hang_message(running_s: float, timeout_s: float) -> str:
    return (
        f"a sync episode has run {running_s:.0f} s, over --episode-timeout {timeout_s:g} s; "
        f"it cannot be cancelled in this process (Ctrl-C stops the run after it, a second "
        f"Ctrl-C at once; with --workers its worker is ended)"
    )
