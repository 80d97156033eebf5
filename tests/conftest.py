"""Shared fixtures. The autouse guard fails any test that leaves a profiler running.

Tests live in one folder per package (tests/run, tests/ab, ...); the modules they share
live in tests/helpers, put on ``sys.path`` here.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

# The test pipelines and helpers (tests/helpers) import by bare name from any test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))


@pytest.fixture(autouse=True)
def no_profiler_left_running() -> Iterator[None]:
    before_profile = sys.getprofile()
    before_trace = sys.gettrace()
    was_tracing = tracemalloc.is_tracing()
    yield
    leaks = []
    if sys.getprofile() is not before_profile:
        sys.setprofile(before_profile)
        leaks.append("sys.setprofile hook")
    if sys.gettrace() is not before_trace:
        sys.settrace(before_trace)
        leaks.append("sys.settrace hook")
    if tracemalloc.is_tracing() and not was_tracing:
        tracemalloc.stop()
        leaks.append("tracemalloc")
    if threading.gettrace() is not None:  # type: ignore[attr-defined]
        threading.settrace(None)  # type: ignore[arg-type]
        leaks.append("threading.settrace hook")
    if leaks:
        pytest.fail("test left profiling running: " + ", ".join(leaks))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``serial`` share one xdist group: one worker runs them one by one."""
    for item in items:
        if item.get_closest_marker("serial") is not None:
            item.add_marker(pytest.mark.xdist_group("serial"))
