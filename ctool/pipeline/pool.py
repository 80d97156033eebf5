"""Object pooling for the per-episode event objects (the ``pooling`` setting).

With pooling on, :meth:`ObjectPool.acquire` hands back a released object (its buffers kept)
and :meth:`ObjectPool.release` returns it; with pooling off every ``acquire`` builds a fresh
object and ``release`` drops it, which is what the baseline does. The pool is bounded, so a
burst of concurrent episodes cannot make it grow without limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ObjectPool(Generic[T]):
    __slots__ = ("_factory", "_free", "_enabled", "_limit", "created", "reused")

    def __init__(self, factory: Callable[[], T], *, enabled: bool, limit: int = 1024) -> None:
        self._factory = factory
        self._free: list[T] = []
        self._enabled = enabled
        self._limit = limit
        self.created = 0
        self.reused = 0

    def acquire(self) -> T:
        if self._free:
            self.reused += 1
            return self._free.pop()
        self.created += 1
        return self._factory()

    def stats(self) -> dict[str, int]:
        return {"created": self.created, "reused": self.reused}

    def release(self, item: T) -> None:
        if self._enabled and len(self._free) < self._limit:
            self._free.append(item)
