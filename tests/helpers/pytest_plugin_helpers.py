"""Shared by the pytest plugin's tests: how to load the plugin into a pytester run."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

PLUGIN = "ctool.pytest_plugin.plugin"


def plugin_args() -> list[str]:
    """``-p ctool.pytest_plugin.plugin`` unless the installed ctool registers it already
    (the ``pytest11`` entry point): loading it twice is an error."""
    if any(ep.value == PLUGIN for ep in entry_points(group="pytest11")):
        return []
    return ["-p", PLUGIN]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run in a fresh process (pytester's in-process runs drop the modules each run
    imported, and numpy's C extension cannot be imported twice in one process)."""
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args)
