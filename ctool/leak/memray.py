"""Retained memory over episodes from memray: ``ctool leakcheck --engine memray``.

memray sees what tracemalloc cannot -- ``malloc`` from C code, with the Python line that
led to it -- but it reports through a file, read after its ``Tracker`` has closed, and one
``Tracker`` may be active in a process at a time. Retained memory *over time* (the series
the sequential verdict needs) is obtained like this:

* **One Tracker per round** (``file_format=ALL_ALLOCATIONS``, Python allocators traced, so a
  Python object is one record and not a share of a 256 kB arena). The round's episodes run
  inside it; the verdict between rounds is computed outside it, so ctool's own analysis is
  never in the file.
* **Checkpoint markers.** At each sample point (after ``gc.collect()``) ctool makes and
  frees one ``bytearray`` of a size no pipeline is likely to use (``MARKER_BYTES``) in
  :func:`_checkpoint`. In the file, the marker's record (that size, allocated in that
  function) marks the position of the sample in the stream of events.
* **Replay.** After the round, the file's records are replayed in order: an allocation
  adds its size under its address, a free removes its address. The live total at each
  marker is the retained memory at that sample. The live table carries over from round to
  round, so a block allocated in one round and freed in a later one is subtracted where it
  is freed; blocks allocated before the first Tracker (the warm-up) are in no table and
  their frees are ignored, so the series is growth since the measured part began.
* **Sites.** At the end, the blocks still live are grouped by their Python stack (memray
  records the full Python stack of every allocation, with no depth limit): retained bytes
  by site, with the stage of the stack's ``ctool.span``.

Limits (docs/leakcheck.md): memray hooks ``malloc`` through the PLT of loaded libraries,
so a ``malloc`` reached through a raw function pointer (``ctypes.CDLL(...).malloc``, which
is ``dlsym``) is not seen -- C code that calls ``malloc`` (a C extension, ``strdup``) is.
Allocations of the event-loop thread between two samples that are freed before the next
one cost replay time but change nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctool.analysis.leak import Frame, RawSite
from ctool.model.errors import UsageError

MARKER_BYTES = 7919
"""The checkpoint marker's size (a prime, unlikely to be a pipeline's request)."""
INSTALL_HINT = 'memray is not installed; pip install "ctool[memray]"'


def require_memray() -> None:
    """A one-line usage error when the optional extra is missing."""
    try:
        import memray  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"--engine memray: {INSTALL_HINT}") from exc


def _checkpoint() -> None:
    marker = bytearray(MARKER_BYTES)
    del marker


@dataclass
class MemrayTracking:
    """Rounds of memray tracking and their replay into retained bytes per sample."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ctool-memray-")))
    live: dict[int, int] = field(default_factory=dict)
    """address -> size, blocks allocated since the first round and not freed."""
    where: dict[int, int] = field(default_factory=dict)
    """address -> index of the block's Python stack in ``stacks``."""
    stacks: list[tuple[Frame, ...]] = field(default_factory=list)
    """Distinct Python stacks (innermost first): bounded by the code's call paths, not by
    the episodes. Nothing here grows per block but two ints in two dicts, which the object
    counts leave out (``containers``)."""
    stack_numbers: dict[tuple[Frame, ...], int] = field(default_factory=dict)
    round_stacks: dict[tuple[int, int], int] = field(default_factory=dict)
    """(thread, memray's stack id in this round's file) -> index in ``stacks``."""
    rounds: int = 0
    _tracker: Any = None
    _records: int = 0

    def start_round(self) -> None:
        import memray

        self.rounds += 1
        self.round_stacks.clear()  # stack ids are per file
        path = self.directory / f"round-{self.rounds}.bin"
        self._tracker = memray.Tracker(
            str(path),
            trace_python_allocators=True,
            file_format=memray.FileFormat.ALL_ALLOCATIONS,
        )
        self._tracker.__enter__()

    def checkpoint(self) -> None:
        _checkpoint()

    def end_round(self) -> list[int]:
        """Close this round's Tracker; the live bytes at each of its checkpoints."""
        import memray

        if self._tracker is None:
            return []
        self._tracker.__exit__(None, None, None)
        self._tracker = None
        path = self.directory / f"round-{self.rounds}.bin"
        reader = memray.FileReader(str(path))
        try:
            return self._replay(reader)
        finally:
            reader.close()
            path.unlink(missing_ok=True)

    def _replay(self, reader: Any) -> list[int]:
        from memray import AllocatorType

        frees = {AllocatorType.FREE, AllocatorType.PYMALLOC_FREE, AllocatorType.MUNMAP}
        live, where = self.live, self.where
        total = sum(live.values())
        marks: list[int] = []
        marker_size = MARKER_BYTES + 1  # bytearray keeps a trailing NUL
        for record in reader.get_allocation_records():
            self._records += 1
            if record.allocator in frees:
                gone = live.pop(record.address, None)
                if gone is not None:
                    total -= gone
                    del where[record.address]
                continue
            size = record.size
            if size == marker_size and _is_marker(record):
                marks.append(total)
                continue
            total += size - live.get(record.address, 0)
            live[record.address] = size
            where[record.address] = self._stack_of(record)
        return marks

    def _stack_of(self, record: Any) -> int:
        key = (record.tid, record.stack_id)
        index = self.round_stacks.get(key)
        if index is None:
            frames = tuple((file, line) for _, file, line in record.stack_trace())
            index = self.stack_numbers.get(frames)
            if index is None:
                index = self.stack_numbers[frames] = len(self.stacks)
                self.stacks.append(frames)
            self.round_stacks[key] = index
        return index

    def sites(self, keep: Callable[[tuple[Frame, ...]], bool]) -> list[RawSite]:
        """Live blocks grouped by their Python stack (innermost first)."""
        by_stack: dict[tuple[Frame, ...], list[int]] = {}
        for address, size in self.live.items():
            frames = self.stacks[self.where[address]]
            if not keep(frames):
                continue
            entry = by_stack.setdefault(frames, [0, 0])
            entry[0] += size
            entry[1] += 1
        return [RawSite(frames, size, count) for frames, (size, count) in by_stack.items()]

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.__exit__(None, None, None)
            self._tracker = None
        self.live.clear()
        self.where.clear()
        self.stacks.clear()
        self.stack_numbers.clear()
        self.round_stacks.clear()
        for path in self.directory.glob("round-*.bin"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.directory)

    @property
    def replayed_records(self) -> int:
        return self._records

    def containers(self) -> tuple[object, ...]:
        """ctool's own tables, to leave out of object counts."""
        return (self.live, self.where, self.stacks, self.stack_numbers, self.round_stacks)


def _is_marker(record: Any) -> bool:
    stack = record.stack_trace()
    return bool(stack) and stack[0][0] == _checkpoint.__name__ and stack[0][1] == __file__
