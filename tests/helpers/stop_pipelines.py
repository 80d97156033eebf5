"""Pipelines that do something to ctool's process (issue 26: defects 7, 8, 9), for
tests/cli/test_process_defects.py. Importable as ``stop_pipelines``. Not a test module."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import ctool


class _Episodes:
    async def episode(self, index: int) -> int:
        with ctool.span("work"):
            await asyncio.sleep(0)
        return index


class _ClosesStdout(_Episodes):
    """Closes file descriptor 1 in its factory, as a daemonising library might."""

    def __init__(self) -> None:
        os.close(1)


def closes_stdout(**_: Any) -> Any:
    return _ClosesStdout()


class _Chdir(_Episodes):
    """Changes the working directory to ``to`` in its factory."""

    def __init__(self, to: str) -> None:
        os.chdir(to)


def chdir(to: str = "", **_: Any) -> Any:
    return _Chdir(to)


class _LeavesThread(_Episodes):
    """Starts a non-daemon thread that never ends (waits on an event nobody sets); touches
    ``marker`` once the thread runs."""

    def __init__(self, marker: str) -> None:
        self.never = threading.Event()
        self.thread = threading.Thread(target=self.never.wait, name="pipeline-forever")
        self.thread.start()
        if marker:
            Path(marker).touch()


def leaves_thread(marker: str = "", **_: Any) -> Any:
    return _LeavesThread(marker)
