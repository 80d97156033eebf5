"""Faults that act on the whole process for a window: CPU hogs, a memory balloon, file
descriptors consumed or capped, event-loop starvation, a TCP partition through a proxy.

Each is a :class:`WindowFault` with ``start`` and ``stop``; ``stop`` undoes everything
``start`` did (threads joined, processes ended, memory freed, limits restored, descriptors
closed, the proxy cleared) and may be called more than once. :class:`WindowSchedule` starts
and stops them on the experiment's clock and stops every one still on when it is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ctool.chaos.plan import Fault
from ctool.model.errors import UsageError


class WindowFault(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class CPUHog:
    """``threads`` Python threads spinning (they contend for the GIL) and ``processes``
    processes spinning (they contend for the cores)."""

    def __init__(self, threads: int, processes: int) -> None:
        self.threads = threads
        self.processes = processes
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self._stop.clear()
        for n in range(self.threads):
            thread = threading.Thread(target=self._spin, name=f"ctool-chaos-cpu-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for _ in range(self.processes):
            self._procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", "while True: pass"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def _spin(self) -> None:
        total = 0
        while not self._stop.is_set():
            for n in range(10_000):
                total += n

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        for proc in self._procs:
            proc.kill()
            proc.wait()
        self._procs.clear()


class MemoryBalloon:
    """``mb`` MiB allocated and touched page by page, freed at the end of the window."""

    def __init__(self, mb: float) -> None:
        self.size = int(mb * 2**20)
        self._balloon: bytearray | None = None

    def start(self) -> None:
        balloon = bytearray(self.size)
        for offset in range(0, self.size, 4096):
            balloon[offset] = 1
        self._balloon = balloon

    def stop(self) -> None:
        self._balloon = None


class FileDescriptors:
    """``consume`` descriptors held open, or the process capped at ``cap`` descriptors
    (``RLIMIT_NOFILE``), for the window."""

    def __init__(self, consume: int, cap: int | None) -> None:
        self.consume = consume
        self.cap = cap
        self._held: list[int] = []
        self._limit: tuple[int, int] | None = None

    def start(self) -> None:
        if self.cap is not None:
            self._limit = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.cap, self._limit[1]))
        for _ in range(self.consume):
            try:
                self._held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                break  # the limit is reached: exhausted, which is the fault

    def stop(self) -> None:
        for fd in self._held:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._held.clear()
        if self._limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, self._limit)
            self._limit = None


class LoopStarver:
    """A callback that holds the event loop (computing) for ``block_ms`` every ``every_ms``."""

    def __init__(self, block_ms: float, every_ms: float) -> None:
        self.block_s = block_ms / 1000.0
        self.every_s = every_ms / 1000.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            end = time.perf_counter() + self.block_s
            while time.perf_counter() < end:
                pass

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class ProxyFault:
    """A TCP fault on a named ``--proxy`` for the window (``ctool.proxy.tcp``)."""

    def __init__(self, proxy: Any, action: str, params: dict[str, Any]) -> None:
        self.proxy = proxy
        self.action = action
        self.params = params

    def start(self) -> None:
        self.proxy.set_fault(self.action, **self.params)

    def stop(self) -> None:
        self.proxy.clear()


_PROXY_PARAMS = ("ms", "jitter_ms", "bytes_per_s", "slice_bytes", "delay_ms", "direction")


def window_fault(fault: Fault, proxies: dict[str, Any]) -> WindowFault:
    """The window fault a plan's fault describes (a usage error if it cannot act here)."""
    if fault.kind == "cpu":
        return CPUHog(int(fault.number("threads", 0)), int(fault.number("processes", 0)))
    if fault.kind == "memory":
        return MemoryBalloon(fault.number("mb", 0))
    if fault.kind == "fds":
        cap = fault.params.get("cap")
        return FileDescriptors(int(fault.number("consume", 0)), int(cap) if cap else None)
    if fault.kind == "starve":
        return LoopStarver(fault.number("block_ms", 50), fault.number("every_ms", 100))
    if fault.kind == "partition":
        proxy = proxies.get(fault.target)
        if proxy is None:
            raise UsageError(f"fault {fault.label}: no --proxy named {fault.target!r}")
        params = {k: v for k, v in fault.params.items() if k in _PROXY_PARAMS}
        return ProxyFault(proxy, fault.text("action", "blackhole"), params)
    raise UsageError(f"fault {fault.label}: {fault.kind} is not a window fault")


@dataclass
class WindowRecord:
    label: str
    kind: str
    start_s: float
    end_s: float | None = None


@dataclass
class WindowSchedule:
    """Starts and stops the window faults on the experiment's clock."""

    faults: list[tuple[Fault, WindowFault]]
    records: list[WindowRecord] = field(default_factory=list)
    _on: dict[int, WindowRecord] = field(default_factory=dict)
    _t0: float = 0.0

    async def run(self, t0: float) -> None:
        """Until cancelled: each fault on at its start, off at its end."""
        self._t0 = t0
        events: list[tuple[float, int, bool]] = []
        for i, (fault, _) in enumerate(self.faults):
            events.append((fault.start_s, i, True))
            if fault.duration_s is not None:
                events.append((fault.end_s, i, False))
        for at, i, on in sorted(events, key=lambda e: (e[0], e[2])):
            wait = t0 + at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if on:
                self._start(i)
            else:
                self._stop(i)

    def _start(self, i: int) -> None:
        fault, effect = self.faults[i]
        record = WindowRecord(fault.label, fault.kind, time.monotonic() - self._t0)
        self._on[i] = record
        self.records.append(record)
        effect.start()

    def _stop(self, i: int) -> None:
        record = self._on.pop(i, None)
        if record is None:
            return
        self.faults[i][1].stop()
        record.end_s = time.monotonic() - self._t0

    def stop_all(self) -> None:
        """Every fault still on, off (the safety path: also on Ctrl-C and errors)."""
        for i in list(self._on):
            self._stop(i)
        for _, effect in self.faults:
            effect.stop()
