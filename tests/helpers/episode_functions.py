"""Episode functions for tests/workload: each call is counted, by construction."""

from __future__ import annotations

import asyncio
from typing import Any

CALLS: dict[str, list[int | None]] = {"async": [], "sync": [], "object": [], "pydantic": []}


async def async_handle(index: int) -> int:
    CALLS["async"].append(index)
    await asyncio.sleep(0)
    return index


def sync_handle() -> str:
    CALLS["sync"].append(None)
    return "done"


class Counter:
    """A callable object with a hook: ``metrics`` is used as a pipeline's would be."""

    def __call__(self, index: int) -> int:
        CALLS["object"].append(index)
        return index * 2

    def metrics(self) -> dict[str, Any]:
        return {"calls": len(CALLS["object"])}


counter = Counter()


def two_arguments(index: int, other: int) -> None:
    raise AssertionError("never called")


async def handle(index: int) -> None:
    """Named as a factory by mistake (--pipeline episode_functions:handle) in a test."""
    raise AssertionError("never called")


def validate_order(index: int) -> float:
    """Third-party code as the episode: a pydantic model validated per episode."""
    from pydantic import BaseModel

    class Order(BaseModel):
        id: int
        cents: int
        tags: list[str]

    CALLS["pydantic"].append(index)
    orders = [Order.model_validate({"id": i, "cents": i * 3, "tags": ["a"]}) for i in range(50)]
    return sum(o.cents for o in orders) / 100


def work_a() -> int:
    """A small CPU-bound episode for ab / leakcheck (no argument)."""
    return sum(i * i for i in range(2000))


RETAINED: list[bytes] = []


def leaky(index: int) -> None:
    """Keeps 10 KiB per episode, forever: a leak by construction."""
    RETAINED.append(bytes(10_240))


def reference_episode() -> Any:
    """The reference pipeline's bound ``episode`` method: a method as the episode."""
    import ctool.pipeline

    return ctool.pipeline.create(seed=0).episode


REFERENCE_EPISODE = reference_episode()
