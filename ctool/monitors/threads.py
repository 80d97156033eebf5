"""What a thread of this process is doing, read from the kernel: on a CPU, waiting for the
GIL, or waiting for something else (a sleep, I/O, a lock).

Linux only (``/proc/self/task/<tid>/``); elsewhere a probe reads what it can (the thread's
CPU clock) and says ``None`` for the state.

* ``stat`` says whether the thread is running (``R``) or asleep in the kernel.
* ``syscall`` says in which system call it sleeps, with its arguments: a thread waiting for
  the GIL sleeps in ``futex`` on an address inside the interpreter's GIL structure; a
  thread waiting on a ``threading.Lock`` sleeps in ``futex`` on the lock's own (heap)
  address; a ``time.sleep``, a socket read, a ``select`` are other calls.
* ``schedstat`` gives the nanoseconds the thread ran and waited in a run queue.

The GIL's addresses are learned once per process (:func:`gil_addresses`, about 10-30 ms): a
helper thread spins in Python while this thread, holding the GIL, reads the helper's
``syscall`` file; every futex address it is seen waiting on belongs to the GIL.

Every read goes through libc's ``pread`` called *with the GIL held* (``ctypes.PyDLL``):
a read that released the GIL would let the observed thread take it and change the very
state being read. Reads cost a microsecond or two each.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

GIL_SPAN = 512
"""Bytes around the observed GIL futex addresses that count as the GIL (its condition
variables and mutexes lie within a few hundred bytes of each other)."""

_libc_pread: Any = None
_gil: tuple[int, int, int] | None = None
"""(futex syscall number, lowest, highest address) of the GIL, once learned."""
_gil_learned = False
_gil_lock = threading.Lock()


def _pread() -> Any:
    """libc ``pread`` that keeps the GIL (None when ctypes cannot reach libc)."""
    global _libc_pread
    if _libc_pread is None:
        try:
            import ctypes

            libc = ctypes.PyDLL(None, use_errno=True)
            func = libc.pread
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
            func.restype = ctypes.c_ssize_t
            buffer = ctypes.create_string_buffer(256)

            def read(fd: int) -> bytes | None:
                got = func(fd, buffer, 256, 0)
                return buffer.raw[:got] if got >= 0 else None

            _libc_pread = read
        except (ImportError, OSError, AttributeError):

            def read_releasing(fd: int) -> bytes | None:
                try:
                    return os.pread(fd, 256, 0)
                except OSError:
                    return None

            _libc_pread = read_releasing
    return _libc_pread


def _open(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


def _futex_wait(text: bytes | None) -> tuple[int, int] | None:
    """(syscall number, first argument) from a ``syscall`` file, if the thread sleeps in one."""
    if not text:
        return None
    parts = text.split()
    if len(parts) < 2 or not parts[1].startswith(b"0x"):
        return None
    try:
        return int(parts[0]), int(parts[1], 16)
    except ValueError:
        return None


def gil_addresses() -> tuple[int, int, int] | None:
    """The GIL's futex syscall number and address range in this process, learned once."""
    global _gil, _gil_learned
    with _gil_lock:
        if not _gil_learned:
            _gil_learned = True
            with contextlib.suppress(OSError, RuntimeError):
                _gil = _learn_gil()
    return _gil


def _learn_gil(budget_s: float = 0.03) -> tuple[int, int, int] | None:
    if not sys.platform.startswith("linux"):
        return None
    started = threading.Event()
    stop = threading.Event()
    ids: list[int] = []

    def spin() -> None:
        ids.append(threading.get_native_id())
        started.set()
        while not stop.is_set():
            pass  # pure Python: waits for the GIL whenever the learner holds it

    helper = threading.Thread(target=spin, name="ctool-gil-probe", daemon=True)
    helper.start()
    try:
        started.wait(1.0)
        if not ids:
            return None
        fd = _open(f"/proc/self/task/{ids[0]}/syscall")
        if fd is None:
            return None
        read = _pread()
        seen: dict[tuple[int, int], int] = {}
        end = time.perf_counter() + budget_s
        try:
            while time.perf_counter() < end:
                found = _futex_wait(read(fd))
                if found is not None:
                    seen[found] = seen.get(found, 0) + 1
        finally:
            os.close(fd)
    finally:
        stop.set()
        helper.join(1.0)
    if not seen:
        return None
    # The helper only ever waits for the GIL here: its most frequent call is the futex call.
    number = max(seen.items(), key=lambda item: item[1])[0][0]
    addresses = [address for (call, address) in seen if call == number]
    return number, min(addresses) - GIL_SPAN, max(addresses) + GIL_SPAN


class ThreadProbe:
    """One thread's state and busy time, read from any thread of this process."""

    def __init__(self, ident: int, native_id: int | None) -> None:
        self.ident = ident
        self._cpu_clock: int | None = None
        getclock = getattr(time, "pthread_getcpuclockid", None)
        if getclock is not None:
            with contextlib.suppress(OSError):
                self._cpu_clock = getclock(ident)
        base = f"/proc/self/task/{native_id}/" if native_id is not None else None
        self._stat = _open(base + "stat") if base else None
        self._syscall = _open(base + "syscall") if base else None
        self._schedstat = _open(base + "schedstat") if base else None
        self._read = _pread()
        if self._schedstat is not None and self._read(self._schedstat) is None:
            self._schedstat = None

    @property
    def available(self) -> bool:
        return self._schedstat is not None or self._cpu_clock is not None

    def close(self) -> None:
        for fd in (self._stat, self._syscall, self._schedstat):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._stat = self._syscall = self._schedstat = None

    def busy_ns(self) -> int:
        """Time the thread ran or waited in a run queue (wanted to run)."""
        on_cpu, queued = self.times()
        return on_cpu + queued

    def times(self) -> tuple[int, int]:
        """(ns on a CPU, ns waiting in a run queue) since the thread started; the run queue
        is 0 where only the thread's CPU clock can be read."""
        if self._schedstat is not None:
            text = self._read(self._schedstat)
            if text:
                with contextlib.suppress(ValueError):
                    on_cpu, queued, _ = text.split()
                    return int(on_cpu), int(queued)
        if self._cpu_clock is not None:
            with contextlib.suppress(OSError):
                return time.clock_gettime_ns(self._cpu_clock), 0
        return 0, 0

    def state(self) -> str | None:
        """``running``, ``gil`` (waiting for the GIL), ``waiting`` (any other wait in the
        kernel: sleep, I/O, a lock) or None (unknown here)."""
        if self._stat is None:
            return None
        text = self._read(self._stat)
        if not text or b")" not in text:
            return None
        at = text.rindex(b")") + 2
        code = text[at : at + 1]
        if code == b"R":
            return "running"
        if code not in (b"S", b"D"):
            return None
        gil = gil_addresses()
        if gil is None or self._syscall is None:
            return "waiting"
        found = _futex_wait(self._read(self._syscall))
        if found is not None and found[0] == gil[0] and gil[1] <= found[1] <= gil[2]:
            return "gil"
        return "waiting"


class OtherThreads:
    """Probes for every thread of this process but the given ones: each one's nanoseconds on
    a CPU since the previous :meth:`look`."""

    def __init__(self, skip: set[int]) -> None:
        self._skip = skip
        self._probes: dict[int, ThreadProbe] = {}
        self._names: dict[int, str] = {}
        self._cpu: dict[int, int] = {}
        self._seen = -1

    def _refresh(self) -> None:
        threads = {
            t.ident: t
            for t in threading.enumerate()
            if t.ident is not None and t.ident not in self._skip
        }
        for ident in [i for i in self._probes if i not in threads]:
            self._probes.pop(ident).close()
            self._cpu.pop(ident, None)
        for ident, thread in threads.items():
            if ident not in self._probes:
                self._probes[ident] = ThreadProbe(ident, thread.native_id)
                self._names[ident] = thread.name
        self._seen = threading.active_count()

    def look(self) -> dict[int, int]:
        """ns on a CPU of each thread since the previous look (threads seen twice)."""
        if threading.active_count() != self._seen:
            self._refresh()
        ran: dict[int, int] = {}
        for ident, probe in self._probes.items():
            cpu = probe.times()[0]
            before = self._cpu.get(ident)
            self._cpu[ident] = cpu
            if before is not None:
                ran[ident] = cpu - before
        return ran

    def may_hold_gil(self, ident: int) -> bool:
        """Not asleep in a system call other than the GIL's: running, queued to run, or
        waiting for the GIL (the caller holds it now)."""
        probe = self._probes.get(ident)
        return probe is not None and probe.state() in ("running", "gil")

    def name(self, ident: int) -> str:
        return self._names.get(ident, str(ident))

    def close(self) -> None:
        for probe in self._probes.values():
            probe.close()
        self._probes.clear()
