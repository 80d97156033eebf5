"""The pytest entry point (``pytest11``: ``ctool = "ctool.pytest_plugin.plugin"``).

Inert unless used: this module imports pytest and the standard library only, registers the
``ctool`` marker, four command-line options and the ``ctool_profile`` fixture, and hands a
test to ctool only when it carries ``@pytest.mark.ctool`` or is an async test that requests
``ctool_profile``. Disable it with ``-p no:ctool``. docs/pytest.md describes its behaviour.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

COMPARISONS = pytest.StashKey[list[tuple[str, str]]]()
"""Per session: (nodeid, what the comparison said), for the terminal summary."""
OTHER_ASYNC_MARKERS = ("asyncio", "anyio", "trio")
"""Async tests another plugin runs; an unmarked async test that requests ``ctool_profile``
is run by ctool on a fresh asyncio loop."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctool", "ctool performance checks (docs/pytest.md)")
    group.addoption(
        "--ctool-save",
        metavar="DIR",
        help="write each measured test's report (ctool profile -o JSON) to DIR",
    )
    group.addoption(
        "--ctool-compare",
        metavar="DIR",
        help="compare each measured test with its report saved in DIR; fail on a regression",
    )
    group.addoption(
        "--ctool-compare-threshold",
        metavar="FRACTION",
        type=float,
        default=0.20,
        help="--ctool-compare gate: fail when p50 is significantly worse by more than this "
        "(default 0.20: a drift floor; a saved file cannot see drift between runs)",
    )
    group.addoption(
        "--ctool-disable",
        action="store_true",
        default=False,
        help="run measured tests once, as plain tests (no measurement, no targets)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ctool(episodes, concurrency, p50_ms, p95_ms, p99_ms, min_eps, no_blocking, "
        "max_memory_kb, no_leak, strict, ...): run the test body as a measured episode "
        "under ctool's harness and check the targets (docs/pytest.md)",
    )
    threshold = config.getoption("ctool_compare_threshold")
    if not threshold > 0:
        raise pytest.UsageError(f"--ctool-compare-threshold must be > 0, got {threshold}")


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Iterator[None]:
    """Run a marked test under ctool, then let the other implementations call a no-op.

    A wrapper, not a ``tryfirst`` implementation, so that no other plugin that runs async
    tests (anyio, pytest-asyncio) can take the call first and silently drop the measurement.
    """
    marker = pyfuncitem.get_closest_marker("ctool")
    if marker is not None:
        from ctool.pytest_plugin.session import run_marked

        run_marked(pyfuncitem, marker)
    elif "ctool_profile" in pyfuncitem.fixturenames and _async_unclaimed(pyfuncitem):
        from ctool.pytest_plugin.session import run_once

        run_once(pyfuncitem)
    else:
        return (yield)
    original = pyfuncitem.obj
    pyfuncitem.obj = _ran
    try:
        return (yield)
    finally:
        pyfuncitem.obj = original


def _ran(**_: Any) -> None:
    """What the other ``pytest_pyfunc_call`` implementations call once ctool ran the test."""


def _async_unclaimed(item: pytest.Function) -> bool:
    if any(item.get_closest_marker(name) for name in OTHER_ASYNC_MARKERS):
        return False
    return inspect.iscoroutinefunction(item.obj)


@pytest.fixture
def ctool_profile(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Profile a pipeline, a ``module:factory`` reference or a callable; returns the report
    (``await`` it in an async test). Options: those of ``ctool profile``."""
    from ctool.pytest_plugin.fixture import ProfileFixture

    node = request.node
    assert isinstance(node, pytest.Function)
    yield ProfileFixture(node)


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """``-v``: a measured test's p50 and p95 after its status."""
    if report.when != "call" or not report.passed:
        return None
    texts = [str(value) for name, value in report.user_properties if name == "ctool"]
    if not texts:
        return None
    return "passed", ".", f"PASSED ({'; '.join(texts)})"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(COMPARISONS, [])
    if not lines:
        return
    terminalreporter.section("ctool comparisons")
    for nodeid, text in lines:
        terminalreporter.write_line(f"{nodeid}: {text.splitlines()[0]}")
