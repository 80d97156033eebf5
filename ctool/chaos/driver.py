"""Drives the episodes of one side (control or experiment) and records each one.

A closed loop of ``concurrency`` workers takes the next episode index until the duration
(or the episode count) is reached or the side is stopped. Every started episode gets one
:class:`EpisodeRecord`: when it started and ended on the side's clock, how it ended (ok,
error by type, timeout), the digest of its outputs and what the faults did to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ctool.chaos.inject import CURRENT, EpisodeMark
from ctool.workload.digest import OutputDigest
from ctool.workload.loader import PipelineAdapter

FLAG_KEY = "flagged"
"""An episode whose outputs hold a true ``flagged`` says the pipeline caught a fault."""


@dataclass
class EpisodeRecord:
    index: int
    start_s: float
    end_s: float
    status: str
    """``ok`` (returned), ``error``, ``timeout``."""
    error_type: str | None = None
    digest: str | None = None
    flagged: bool = False
    hits: list[str] = field(default_factory=list)
    corrupted: bool = False
    duplicated: bool = False
    values: dict[str, float] = field(default_factory=dict)
    """The numeric outputs a hypothesis watches (``[hypothesis.outputs]``)."""

    @property
    def latency_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0


def episode_digest(outputs: Mapping[str, Any] | None, result: Any) -> str:
    """A short digest of one episode's outputs (``repr`` of the result without a hook)."""
    line = OutputDigest.encode(outputs) if outputs is not None else repr(result)
    return hashlib.sha256(line.encode("utf-8", "backslashreplace")).hexdigest()[:16]


@dataclass
class Side:
    """One side's episodes, as they end."""

    name: str
    records: list[EpisodeRecord] = field(default_factory=list)
    started: int = 0
    t0: float = 0.0
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


async def drive(
    adapter: PipelineAdapter,
    side: Side,
    *,
    duration_s: float | None,
    episodes: int | None,
    concurrency: int,
    timeout_s: float | None,
    indices: list[int] | None = None,
    fields: tuple[str, ...] = (),
) -> None:
    """Run episodes until the duration or count is reached (or ``side.stop()``)."""
    side.t0 = side.t0 or time.monotonic()
    queue = iter(indices) if indices is not None else None
    deadline = side.t0 + duration_s if duration_s is not None else None

    def next_index() -> int | None:
        if side.stopped or (deadline is not None and time.monotonic() >= deadline):
            return None
        if queue is not None:
            return next(queue, None)
        if episodes is not None and side.started >= episodes:
            return None
        return side.started

    async def worker() -> None:
        while (index := next_index()) is not None:
            side.started += 1
            record = await one_episode(adapter, index, side.t0, timeout_s, fields)
            side.records.append(record)
            # An episode that never suspends would starve the fault schedule and the burn
            # watch: give the loop a turn between episodes (both sides alike).
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(max(concurrency, 1))))


async def one_episode(
    adapter: PipelineAdapter,
    index: int,
    t0: float,
    timeout_s: float | None,
    fields: tuple[str, ...] = (),
) -> EpisodeRecord:
    mark = EpisodeMark(index)
    token = CURRENT.set(mark)
    start = time.monotonic()
    status, error_type, result = "ok", None, None
    try:
        async with asyncio.timeout(timeout_s) as scope:
            result = await adapter.episode(index)
    except TimeoutError:
        if scope.expired():
            status = "timeout"
        else:
            status, error_type = "error", "TimeoutError"
    except Exception as exc:
        status, error_type = "error", type(exc).__name__
    finally:
        CURRENT.reset(token)
    end = time.monotonic()
    record = EpisodeRecord(index, start - t0, end - t0, status, error_type)
    record.hits, record.corrupted, record.duplicated = mark.hits, mark.corrupted, mark.duplicated
    if status == "ok":
        try:
            outputs = adapter.outputs(result)
        except Exception as exc:
            record.status, record.error_type = "error", type(exc).__name__
            return record
        record.digest = episode_digest(outputs, result)
        record.flagged = bool(outputs.get(FLAG_KEY)) if outputs is not None else False
        for name in fields:
            value = outputs.get(name) if outputs is not None else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                record.values[name] = float(value)
    return record
