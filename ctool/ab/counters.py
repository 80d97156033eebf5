"""Instruction counters for ``ctool ab --measure instructions``.

* :class:`PerfInstructions`: Linux ``perf_event_open`` (user-space instructions retired by
  this thread), opened through ``ctypes``. Many VMs, this project's included, do not expose
  the hardware counters (``perf stat -e instructions:u`` says "not supported"); then
  opening fails and :func:`open_counter` says so in one line. The system calls go through
  :class:`PerfOps`, which the tests replace with a fake.

Only the worker (``ctool.ab.worker``) opens a counter; ``import ctool`` never does.
"""

from __future__ import annotations

import os
import platform
import struct
from dataclasses import dataclass
from typing import Protocol

from ctool.model.errors import UsageError

PERF_TYPE_HARDWARE = 0
PERF_COUNT_HW_INSTRUCTIONS = 1
ATTR_SIZE = 128
_FLAGS_OFFSET = 40
_DISABLED, _EXCLUDE_KERNEL, _EXCLUDE_HV = 1 << 0, 1 << 5, 1 << 6
IOC_ENABLE, IOC_DISABLE, IOC_RESET = 0x2400, 0x2401, 0x2403
_SYSCALL = {"x86_64": 298, "aarch64": 241}


class Counter(Protocol):
    def start(self) -> None: ...

    def stop(self) -> int:
        """The count since :meth:`start`."""
        ...


def perf_attr() -> bytes:
    """A ``struct perf_event_attr`` for user-space instructions, created disabled."""
    buf = bytearray(ATTR_SIZE)
    struct.pack_into("IIQ", buf, 0, PERF_TYPE_HARDWARE, ATTR_SIZE, PERF_COUNT_HW_INSTRUCTIONS)
    struct.pack_into("Q", buf, _FLAGS_OFFSET, _DISABLED | _EXCLUDE_KERNEL | _EXCLUDE_HV)
    return bytes(buf)


class PerfOps:
    """The three system calls a perf counter needs (replaced by a fake in tests)."""

    def open(self, attr: bytes) -> int:
        import ctypes

        number = _SYSCALL.get(platform.machine())
        if number is None:
            raise OSError(f"perf_event_open: unknown syscall number on {platform.machine()}")
        libc = ctypes.CDLL(None, use_errno=True)
        raw = ctypes.create_string_buffer(attr, len(attr))
        fd = int(libc.syscall(number, raw, 0, -1, -1, 0))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"perf_event_open: {os.strerror(err)}")
        return fd

    def ioctl(self, fd: int, request: int) -> None:
        import fcntl

        fcntl.ioctl(fd, request, 0)

    def read(self, fd: int) -> int:
        value: int = struct.unpack("q", os.read(fd, 8))[0]
        return value


@dataclass
class PerfInstructions:
    ops: PerfOps
    fd: int = -1

    @classmethod
    def open(cls, ops: PerfOps | None = None) -> PerfInstructions:
        ops = ops or PerfOps()
        return cls(ops, ops.open(perf_attr()))

    def start(self) -> None:
        self.ops.ioctl(self.fd, IOC_RESET)
        self.ops.ioctl(self.fd, IOC_ENABLE)

    def stop(self) -> int:
        self.ops.ioctl(self.fd, IOC_DISABLE)
        return self.ops.read(self.fd)


def open_counter(measure: str, ops: PerfOps | None = None) -> Counter | None:
    """The counter ``measure`` needs (``None`` for wall and cpu); a one-line error when the
    machine cannot count instructions."""
    if measure != "instructions":
        return None
    try:
        return PerfInstructions.open(ops)
    except OSError as exc:
        raise UsageError(
            f"--measure instructions: this machine does not expose perf counters ({exc})"
        ) from None


def perf_available(ops: PerfOps | None = None) -> bool:
    """Can this process open an instruction counter?"""
    ops = ops or PerfOps()
    try:
        fd = ops.open(perf_attr())
    except OSError:
        return False
    os.close(fd)
    return True
