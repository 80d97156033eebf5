"""A marked test, start to end: options, the xdist rule, the measurement, the verdict, the
saved report and the comparison. Called by the plugin's ``pytest_pyfunc_call``."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from ctool.pytest_plugin.body import body_of, coroutine_function
from ctool.pytest_plugin.options import MarkerError, MarkOptions
from ctool.pytest_plugin.plugin import COMPARISONS


def funcargs(item: pytest.Function) -> dict[str, Any]:
    return {name: item.funcargs[name] for name in item._fixtureinfo.argnames}


def run_once(item: pytest.Function) -> None:
    """The test as a plain test: one call, on a fresh event loop when it is async."""
    inner = coroutine_function(item.obj)
    if inner is not None:
        asyncio.run(inner(**funcargs(item)))
    else:
        item.obj(**funcargs(item))


def xdist_workers(config: pytest.Config) -> int:
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, dict):
        return 1
    return int(workerinput.get("workercount", 1))


def refuse_under_xdist(item: pytest.Function) -> None:
    workers = xdist_workers(item.config)
    if workers > 1:
        pytest.fail(
            f"ctool: {item.nodeid} measures performance and pytest-xdist runs {workers} workers: "
            "the other workers share the CPU, so its timings would measure them too. Run "
            "measured tests in their own session without -n (e.g. `pytest -m ctool -p "
            "no:xdist`, and `-m 'not ctool'` for the parallel session), or pass "
            "--ctool-disable to run them once as plain tests.",
            pytrace=False,
        )


def run_marked(item: pytest.Function, marker: pytest.Mark) -> None:
    from ctool.model.errors import CtoolError

    try:
        options = MarkOptions.from_marker(marker.args, marker.kwargs)
    except MarkerError as exc:
        pytest.fail(str(exc), pytrace=False)
    config = item.config
    if config.getoption("ctool_disable"):
        run_once(item)
        return
    refuse_under_xdist(item)
    from ctool.pytest_plugin.checks import failure_message, judge, status_text
    from ctool.pytest_plugin.measure import measure

    body = body_of(item.obj, funcargs(item))
    ref = f"{item.module.__name__ if item.module else 'test'}:{item.name}"
    try:
        measured = measure(ref, body, options, f"pytest {item.nodeid}")
    except CtoolError as exc:
        pytest.fail(f"ctool: {exc.message}", pytrace=False)
    item.user_properties.append(("ctool", status_text(measured.report)))
    verdict = judge(measured, options)
    compared = _save_and_compare(item, measured.report)
    if compared is not None:
        verdict.failures.append(compared)
    for note in verdict.notes:
        warnings.warn(pytest.PytestWarning(f"ctool: {item.nodeid}: {note}"), stacklevel=1)
    if not verdict.passed:
        pytest.fail(failure_message(item.nodeid, measured, verdict), pytrace=False)


def _save_and_compare(item: pytest.Function, report: Any) -> str | None:
    """Compare with the saved report (then save this one); the regression text, if any."""
    from ctool.pytest_plugin import saved

    config = item.config
    failure = None
    compare_dir = config.getoption("ctool_compare")
    if compare_dir:
        threshold = config.getoption("ctool_compare_threshold")
        result = saved.compare_saved(report, compare_dir, item.nodeid, threshold)
        config.stash.setdefault(COMPARISONS, []).append((item.nodeid, result.text))
        item.user_properties.append(("ctool_compare", result.status))
        if result.status == "regressed":
            failure = result.text
    save_dir = config.getoption("ctool_save")
    if save_dir:
        saved.save(report, save_dir, item.nodeid)
    return failure
