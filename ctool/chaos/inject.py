"""The injector: what an active plan does where a span or a fault point is entered.

Installed for the length of an experiment (:meth:`Injector.installed`) as the span fault
hooks (:func:`ctool.spans.install_fault`) and the fault-point injector
(:func:`ctool.faults.install`); removed on the way out whatever happens, and any episode
still hanging in a fault is released. Every decision is a function of the run's seed, the
fault, the episode and the call's number in the episode, so a rerun faults the same calls
(with one episode at a time; with more, the windows are the same and the calls may differ).

A name no fault targets costs a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import math
import random
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ctool import faults as fault_points
from ctool import spans
from ctool.chaos.plan import EXCEPTIONS, ChaosPlan, Fault


class InjectedFault(Exception):
    """Marks an exception ctool chaos raised (its type is the one the plan named)."""


@dataclass
class EpisodeMark:
    """What the faults did to one episode (held in a context variable while it runs)."""

    index: int
    calls: dict[int, int] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    corrupted: bool = False
    duplicated: bool = False


CURRENT: ContextVar[EpisodeMark | None] = ContextVar("ctool_chaos_episode", default=None)


@dataclass
class FaultCount:
    calls: int = 0
    applied: int = 0
    blocking_fallback: int = 0
    """Awaited faults applied blocking: a ``with span`` block cannot await."""


class Injector:
    """Applies a plan's stage faults (latency, error, hang, corrupt, message)."""

    def __init__(self, plan: ChaosPlan, *, seed: int) -> None:
        self.seed = seed
        self.faults = [f for f in plan.faults if f.target.startswith(("span:", "point:"))]
        self.counts = [FaultCount() for _ in self.faults]
        self._off: set[int] = set()
        self._spans: dict[str, list[int]] = {}
        self._points: dict[str, list[int]] = {}
        self._index()
        self._installed = False
        self._t0 = time.monotonic()
        self._released = threading.Event()
        self._stale: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def _index(self) -> None:
        spans_: dict[str, list[int]] = {}
        points: dict[str, list[int]] = {}
        for i, fault in enumerate(self.faults):
            if i in self._off:
                continue
            scope, _, name = fault.target.partition(":")
            table = spans_ if scope == "span" else points
            table.setdefault(name, []).append(i)
        self._spans, self._points = spans_, points

    def _hook(self) -> None:
        spans.install_fault(self.span_hook, self.async_span_hook, frozenset(self._spans))
        fault_points.install(self.point_hook, frozenset(self._points))

    def add(self, fault: Fault) -> int:
        """Turn a fault on now (``ctool chaos --live``); returns its number."""
        self.faults.append(fault)
        self.counts.append(FaultCount())
        self._index()
        if self._installed:
            self._hook()
        return len(self.faults) - 1

    def remove(self, number: int) -> None:
        """Turn fault ``number`` off now."""
        self._off.add(number)
        self._index()
        if self._installed:
            self._hook()

    def start_clock(self, t0: float | None = None) -> None:
        self._t0 = time.monotonic() if t0 is None else t0

    @contextlib.contextmanager
    def installed(self) -> Iterator[Injector]:
        """Hooks in for the block; out (and every hang released) on the way out."""
        self._released.clear()
        self._installed = True
        self._hook()
        try:
            yield self
        finally:  # one chaos run per process at a time: out means none installed
            self._installed = False
            spans.install_fault(None)
            fault_points.install(None)
            self._released.set()

    def release(self) -> None:
        """End every hang now (the run is stopping)."""
        self._released.set()

    # -- hooks ------------------------------------------------------------------------------

    def span_hook(self, name: str) -> None:
        indices = self._spans.get(name)
        if indices is None:
            return
        for i in self._due(indices):
            self._act_blocking(i)

    async def async_span_hook(self, name: str) -> None:
        indices = self._spans.get(name)
        if indices is None:
            return
        for i in self._due(indices):
            await self._act_awaited(i)

    def point_hook(self, name: str, value: Any) -> Any:
        indices = self._points.get(name)
        if indices is None:
            return value
        due = self._due(indices)
        previous = self._stale.get(name, value)
        self._stale[name] = value
        for i in due:
            fault = self.faults[i]
            if fault.kind == "corrupt":
                value = self._corrupt(i, value, previous)
            elif fault.kind == "message" and fault.text("action", "") == "drop":
                value = None
            else:
                self._act_blocking(i)
        return value

    # -- decisions --------------------------------------------------------------------------

    def _due(self, indices: list[int]) -> list[int]:
        """The faults among ``indices`` that act on this call."""
        offset = time.monotonic() - self._t0
        mark = CURRENT.get()
        due: list[int] = []
        for i in indices:
            fault = self.faults[i]
            if not fault.active_at(offset):
                continue
            count = self.counts[i]
            with self._lock:
                count.calls += 1
                nth = count.calls
            call = 0
            if mark is not None:
                call = mark.calls.get(i, 0)
                mark.calls[i] = call + 1
            if nth % fault.every != 0:
                continue
            if fault.probability < 1.0 and self._uniform(i, mark, call) >= fault.probability:
                continue
            with self._lock:
                count.applied += 1
            if mark is not None:
                mark.hits.append(fault.label)
            due.append(i)
        return due

    def _uniform(self, i: int, mark: EpisodeMark | None, call: int, salt: str = "") -> float:
        episode = mark.index if mark is not None else -1
        return random.Random(f"{self.seed}/{i}/{episode}/{call}{salt}").random()

    def _delay_s(self, fault: Fault) -> float:
        ms = fault.number("ms", 0.0)
        jitter = fault.number("jitter_ms", 0.0)
        mark = CURRENT.get()
        call = mark.calls.get(self.faults.index(fault), 0) if mark is not None else 0
        i = self.faults.index(fault)
        if jitter:
            ms += jitter * (2.0 * self._uniform(i, mark, call, "j") - 1.0)
        tail_p = fault.number("tail_probability", 0.0)
        if tail_p and self._uniform(i, mark, call, "t") < tail_p:
            ms = fault.number("tail_ms", ms)
        return max(ms, 0.0) / 1000.0

    def _hang_limit_s(self, fault: Fault) -> float:
        """A hang lasts until the fault's window ends or the run stops."""
        end = fault.end_s
        if math.isinf(end):
            return 3600.0
        return max(end - (time.monotonic() - self._t0), 0.0)

    # -- actions ----------------------------------------------------------------------------

    def _act_blocking(self, i: int) -> None:
        fault = self.faults[i]
        if fault.kind in ("latency", "message"):
            if fault.text("mode", "blocking") == "awaited":
                self.counts[i].blocking_fallback += 1
            time.sleep(self._delay_s(fault))
        elif fault.kind == "error":
            raise _exception(fault)
        elif fault.kind == "hang":
            if fault.text("mode", "blocking") == "awaited":
                self.counts[i].blocking_fallback += 1
            self._released.wait(self._hang_limit_s(fault))

    async def _act_awaited(self, i: int) -> None:
        fault = self.faults[i]
        if fault.kind in ("latency", "message"):
            delay = self._delay_s(fault)
            if fault.text("mode", "awaited") == "blocking":
                time.sleep(delay)
            else:
                await asyncio.sleep(delay)
        elif fault.kind == "error":
            raise _exception(fault)
        elif fault.kind == "hang":
            if fault.text("mode", "awaited") == "blocking":
                self._released.wait(self._hang_limit_s(fault))
                return
            deadline = time.monotonic() + self._hang_limit_s(fault)
            while not self._released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)

    def _corrupt(self, i: int, value: Any, previous: Any) -> Any:
        fault = self.faults[i]
        mode = fault.text("mode", "nan")
        mark = CURRENT.get()
        if mark is not None:
            mark.corrupted = mark.corrupted or mode != "duplicate"
            mark.duplicated = mark.duplicated or mode == "duplicate"
        if mode == "drop":
            return None
        if mode == "stale":
            return previous
        if mode == "duplicate":
            return value
        if mode == "perturb":
            scale = fault.number("scale", 0.01)
            call = mark.calls.get(i, 0) if mark is not None else 0
            factor = 1.0 + scale * (2.0 * self._uniform(i, mark, call, "p") - 1.0)
            return _numeric(value, lambda x: x * factor)
        if mode == "sign":
            return _numeric(value, lambda x: -x)
        return _numeric(value, lambda x: x * math.nan)


def _numeric(value: Any, change: Any) -> Any:
    """``change`` applied to every number in ``value`` (numbers, arrays, lists, dicts)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return change(float(value))
    if isinstance(value, dict):
        return {k: _numeric(v, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_numeric(v, change) for v in value)
    if hasattr(value, "dtype"):  # a numpy array or scalar: arithmetic applies elementwise
        return change(value.astype(float))
    return value


def _exception(fault: Fault) -> BaseException:
    name = fault.text("exception", "RuntimeError")
    cls = getattr(builtins, name) if name in EXCEPTIONS else RuntimeError
    message = fault.text("message", f"ctool chaos: injected {name} at {fault.target}")
    exc: BaseException = cls(message)
    exc.__cause__ = InjectedFault(fault.label)
    return exc
