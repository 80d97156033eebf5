"""Which allocations are ctool's own during a leakcheck (:func:`is_own_trace`), and where the
pipeline's call stacks start (:func:`inside_driver`).

A function that samples, snapshots, judges or counts says so with :func:`bookkeeping`: an
allocation made while it runs (inside numpy, ``gc`` or ``tracemalloc`` too) is ctool's, not
the pipeline's. The module that calls the pipeline's episodes registers itself with
:func:`driver_module`: frames from there outwards (what called ``ctool leakcheck``) are not
the pipeline's business. Nothing here imports the modules that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ctool.analysis.leak import Frame
from ctool.leak.heap import (
    count_types,
    count_types_in_thread,
    ctool_roots,
    growth_since,
    resolved,
    type_sites,
)

F = TypeVar("F", bound=Callable[..., object])

_RANGES: list[tuple[str, int, int]] = []
"""(file, first line, last line) of every bookkeeping function."""
_DRIVERS: list[str] = []
"""Resolved files of the modules that call the pipeline's episodes."""


def bookkeeping(fn: F) -> F:
    """Mark ``fn`` as ctool's bookkeeping: what it allocates, at any depth, is ctool's."""
    code = fn.__code__
    lines = [line for _, _, line in code.co_lines() if line is not None]
    _RANGES.append((code.co_filename, min(lines), max(lines)))
    return fn


def driver_module(filename: str) -> None:
    """``filename`` calls the pipeline's episodes: stacks are cut at its first frame."""
    _DRIVERS.append(resolved(filename))


for _helper in (growth_since, count_types, count_types_in_thread, type_sites):
    bookkeeping(_helper)


def inside_driver(frames: Sequence[Frame]) -> tuple[Frame, ...]:
    """The frames inside the driver: what called ``ctool leakcheck`` is not the pipeline's
    business (innermost first, so cut at the first frame of a driver module)."""
    kept: list[Frame] = []
    for frame in frames:
        if resolved(frame[0]) in _DRIVERS:
            break
        kept.append(frame)
    return tuple(kept)


def is_own_trace(frames: Sequence[Frame]) -> bool:
    """An allocation made by ctool itself: its innermost frame is ctool's, or it happened
    while ctool was sampling (a snapshot, a count, an error sample)."""
    if not frames:
        return True
    if resolved(frames[0][0]).startswith(ctool_roots()):
        return True
    return any(
        filename == name and first <= line <= last
        for filename, line in frames
        for name, first, last in _RANGES
    )
