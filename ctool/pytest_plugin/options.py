"""The ``@pytest.mark.ctool(...)`` options: parsed and checked once, as plain values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


class MarkerError(Exception):
    """A bad marker option; the message is one line naming it."""


@dataclass(frozen=True)
class MarkOptions:
    episodes: int = 100
    """Measured episodes (each one a call of the test body)."""
    warmup: int = 5
    """Unmeasured calls of the body before the measured ones."""
    concurrency: int = 1
    """1: one episode after another; N > 1: a closed loop of N episodes in flight."""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    min_eps: float | None = None
    no_blocking: bool = False
    block_threshold_ms: float = 5.0
    """A heartbeat later than this is a blocking call (the watchdog's threshold)."""
    max_memory_kb: float | None = None
    memory_episodes: int = 20
    """Episodes of the memory pass (``max_memory_kb``), run after the timed ones."""
    no_leak: bool = False
    leak_episodes: int | None = None
    leak_warmup: int | None = None
    leak_every: int | None = None
    """Leakcheck's own sizes; None: leakcheck's defaults (``ctool leakcheck --help``)."""
    strict: bool = False
    """With ``no_leak``: an ``inconclusive`` leak verdict fails too."""

    @classmethod
    def from_marker(cls, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> MarkOptions:
        if args:
            raise MarkerError(
                f"@pytest.mark.ctool takes keyword options only, got positional {args!r}"
            )
        known = {f.name for f in fields(cls)}
        for key in kwargs:
            if key not in known:
                names = ", ".join(sorted(known))
                raise MarkerError(f"@pytest.mark.ctool: unknown option {key!r} (known: {names})")
        options = cls(**dict(kwargs))
        options.validate()
        return options

    def validate(self) -> None:
        _integer("episodes", self.episodes, 1)
        _integer("warmup", self.warmup, 0)
        _integer("concurrency", self.concurrency, 1)
        _integer("memory_episodes", self.memory_episodes, 1)
        for name in ("leak_episodes", "leak_every"):
            value = getattr(self, name)
            if value is not None:
                _integer(name, value, 1)
        if self.leak_warmup is not None:
            _integer("leak_warmup", self.leak_warmup, 0)
        for name in ("p50_ms", "p95_ms", "p99_ms", "min_eps", "max_memory_kb"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value)
        _positive("block_threshold_ms", self.block_threshold_ms)
        for name in ("no_blocking", "no_leak", "strict"):
            if not isinstance(getattr(self, name), bool):
                raise MarkerError(f"@pytest.mark.ctool: {name} must be True or False")
        if self.strict and not self.no_leak:
            raise MarkerError("@pytest.mark.ctool: strict=True applies to no_leak=True only")

    @property
    def measures_memory(self) -> bool:
        return self.max_memory_kb is not None


def _integer(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise MarkerError(f"@pytest.mark.ctool: {name} must be an integer >= {low}, got {value!r}")


def _positive(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise MarkerError(f"@pytest.mark.ctool: {name} must be a positive number, got {value!r}")
