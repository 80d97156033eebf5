"""Pipelines that misbehave, for the hardening corpus (tests/cli/test_hardening_corpus.py).

Importable as ``misbehaving_pipelines`` (pytest puts tests/ on sys.path; subprocess tests set
PYTHONPATH). Each factory builds one way a user's pipeline can go wrong. Not a test module.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

import ctool

HOSTILE = (
    "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\"
    " mod:ok [bold]x[/bold] :thumbs_up:"
)
"""Clear screen, window title + BEL, a hyperlink, a Rich markup tag and an emoji code."""


class _Base:
    def __init__(self, **_: Any) -> None:
        self.calls = 0

    async def episode(self, index: int) -> int:
        self.calls += 1
        with ctool.span("work"):
            await asyncio.sleep(0)
        return index


class SysExitEpisode(_Base):
    async def episode(self, index: int) -> int:
        if index % 3 == 2:
            sys.exit(5)
        return await super().episode(index)


def exit_in_factory(**_: Any) -> Any:
    sys.exit(7)


def exit_in_episode(**_: Any) -> Any:
    return SysExitEpisode()


class _SyncExit:
    def episode(self, index: int) -> int:
        if index == 3:
            raise SystemExit(5)
        return index


def exit_in_sync_episode(**_: Any) -> Any:
    return _SyncExit()


class _Undigestible(_Base):
    def outputs(self, result: Any) -> Any:
        return {"value": object() if result % 2 else result}


def undigestible_outputs(**_: Any) -> Any:
    return _Undigestible()


class _OutputsRaise(_Base):
    def outputs(self, result: Any) -> Any:
        raise RuntimeError("outputs broke")


def outputs_raise(**_: Any) -> Any:
    return _OutputsRaise()


class _OutputsExit(_Base):
    def outputs(self, result: Any) -> Any:
        sys.exit(4)


def outputs_exit(**_: Any) -> Any:
    return _OutputsExit()


class _MetricsExit(_Base):
    def metrics(self) -> Any:
        sys.exit(3)


def metrics_exit(**_: Any) -> Any:
    return _MetricsExit()


class _MetricsBad(_Base):
    def metrics(self) -> Any:
        return 42  # not a mapping


def metrics_not_mapping(**_: Any) -> Any:
    return _MetricsBad()


class _CloseExit(_Base):
    def close(self) -> None:
        sys.exit(6)


def close_exit(**_: Any) -> Any:
    return _CloseExit()


class _CloseRaise(_Base):
    async def close(self) -> None:
        raise RuntimeError("close broke")


def close_raise(**_: Any) -> Any:
    return _CloseRaise()


class _Printer(_Base):
    async def episode(self, index: int) -> int:
        print(f"episode {index} says hello")
        return await super().episode(index)


def prints(**_: Any) -> Any:
    return _Printer()


def prints_in_factory(**_: Any) -> Any:
    print("factory says hello")
    return _Base()


class _Hangs(_Base):
    async def episode(self, index: int) -> int:
        if index == 7:
            await asyncio.Event().wait()  # never returns
        return await super().episode(index)


def hangs(**_: Any) -> Any:
    return _Hangs()


class _SyncSlow:
    """Blocks the thread: a sync episode that takes ``ms`` milliseconds each time; touches
    ``marker`` when an episode starts blocking."""

    def __init__(self, ms: int, marker: str) -> None:
        self.ms = ms
        self.marker = marker

    def episode(self, index: int) -> int:
        with ctool.span("block"):
            if self.marker:
                Path(self.marker).touch()
            time.sleep(self.ms / 1000)
        return index


def sync_slow(ms: int = 200, marker: str = "", **_: Any) -> Any:
    return _SyncSlow(ms, marker)


class _SyncHangs:
    """A sync episode that blocks forever from episode ``at`` on (a lock never released);
    touches ``marker`` as it starts to hang."""

    def __init__(self, at: int, marker: str) -> None:
        self.at = at
        self.marker = marker
        self.lock = threading.Lock()
        self.lock.acquire()

    def episode(self, index: int) -> int:
        if index >= self.at:
            if self.marker:
                Path(self.marker).touch()
            self.lock.acquire()
        time.sleep(0.01)
        return index


def sync_hangs(at: int = 30, marker: str = "", **_: Any) -> Any:
    return _SyncHangs(at, marker)


class _AsyncSlow(_Base):
    """50 ms per episode; touches ``marker`` once ``after`` episodes ran (signal tests wait
    for it instead of sleeping)."""

    def __init__(self, marker: str, after: int) -> None:
        super().__init__()
        self.marker = marker
        self.after = after

    async def episode(self, index: int) -> int:
        with ctool.span("wait"):
            await asyncio.sleep(0.05)
        self.calls += 1
        if self.marker and self.calls == self.after:
            Path(self.marker).touch()
        return index


def async_slow(marker: str = "", after: int = 10, **_: Any) -> Any:
    return _AsyncSlow(marker, after)


class _Hostile(_Base):
    """Hostile text in every string a run records: stage names, errors, metrics, settings."""

    settings = {HOSTILE: HOSTILE}

    async def episode(self, index: int) -> int:
        with ctool.span("stage" + HOSTILE):
            await asyncio.sleep(0)
        if index % 2:
            raise RuntimeError(HOSTILE)
        return index

    def metrics(self) -> Any:
        return {HOSTILE: 1, "note": HOSTILE}


def hostile(**_: Any) -> Any:
    return _Hostile()


class _HostileWarning(_Base):
    def metrics(self) -> Any:
        raise RuntimeError(HOSTILE)


def hostile_warning(**_: Any) -> Any:
    """A hook that fails with hostile text: it reaches stderr as a warning."""
    return _HostileWarning()


def not_a_pipeline(**_: Any) -> Any:
    return 42


class _AllFail(_Base):
    async def episode(self, index: int) -> int:
        raise ValueError("always")


def all_fail(**_: Any) -> Any:
    return _AllFail()
