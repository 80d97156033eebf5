"""Pipelines whose process dies, for the replica fault tests (tests/run/test_replica_faults.py,
tests/integrations/test_executors_faults.py). Not a test module.

``die_once``: the first process to claim ``marker`` (an exclusive create) dies after
``after`` episodes, by a real ``SIGKILL`` or ``os._exit``; every other process lives. So the
replica that runs first (replica 0, or round 0) is the one that dies, whatever its pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import ctool


class _Dies:
    def __init__(self, marker: str, after: int, how: str, always: bool) -> None:
        self.marker = marker
        self.after = after
        self.how = how
        self.always = always
        self.calls = 0
        self.doomed: bool | None = None

    def _claim(self) -> bool:
        if self.always:
            return True
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    async def episode(self, index: int) -> int:
        self.calls += 1
        if self.calls > self.after:
            if self.doomed is None:
                self.doomed = self._claim()
            if self.doomed:
                if self.how == "exit":
                    os._exit(7)
                os.kill(os.getpid(), signal.SIGKILL)
        with ctool.span("work"):
            await asyncio.sleep(0)
        return index


def die_once(marker: str = "", after: int = 5, how: str = "kill", **_: Any) -> _Dies:
    """The first process past ``after`` episodes to claim ``marker`` dies (``how``: ``kill``,
    a real SIGKILL, or ``exit``, ``os._exit(7)``)."""
    return _Dies(marker, after, how, always=False)


def die_always(after: int = 3, **_: Any) -> _Dies:
    """Every process calls ``os._exit(7)`` after ``after`` episodes."""
    return _Dies("", after, "exit", always=True)


class _Undigestable:
    async def episode(self, index: int) -> int:
        with ctool.span("work"):
            await asyncio.sleep(0)
        return index

    def outputs(self, result: Any) -> Any:
        return {"value": object()}  # never JSON: every episode's outputs fail to digest


def undigestable(**_: Any) -> _Undigestable:
    return _Undigestable()


class _TouchingLeak:
    """Keeps ``leak_bytes`` written bytes per episode (RSS grows, not only traced memory)."""

    def __init__(self, leak_bytes: int) -> None:
        self.leak_bytes = leak_bytes
        self.kept: list[bytes] = []

    async def episode(self, index: int) -> int:
        with ctool.span("KEEP"):
            self.kept.append(b"\x01" * self.leak_bytes)
        await asyncio.sleep(0)
        return index


def touching_leak(leak_bytes: int = 1 << 20, **_: Any) -> _TouchingLeak:
    return _TouchingLeak(leak_bytes)
