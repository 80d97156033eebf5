"""Why the loop did not run: a stall is ``cpu``, ``blocking`` or ``gil`` by what the loop
thread was doing, with the truth known by construction (tests/helpers/stall_pipelines)."""

from __future__ import annotations

import sys

import pytest

from ctool.model.schema import ProfileReport
from ctool.run.config import RunConfig
from ctool.run.runner import run_profile

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="thread states are read from /proc"
)


def _profile(factory: str) -> ProfileReport:
    return run_profile(RunConfig(pipeline=f"stall_pipelines:{factory}", episodes=4, warmup=1))


def _compute_row(report: ProfileReport) -> object:
    rows = [b for b in report.resources.blocking_calls if b.function == "compute"]
    assert rows, report.resources.blocking_calls
    return rows[0]


def test_waiting_for_the_gil_an_executor_thread_holds_is_gil_not_blocking() -> None:
    """The loop computes in pure Python while executor threads spin in pure Python: they
    take turns on the GIL, so the loop thread spends most of its stall waiting for it."""
    report = _profile("create_contended")
    res = report.resources
    row = _compute_row(report)
    assert row.kind == "gil", (row, res.loop_stall_classes)  # type: ignore[attr-defined]
    assert row.stage == "validate"  # type: ignore[attr-defined]
    holder = row.holder  # type: ignore[attr-defined]
    assert holder is not None and "stall_pipelines.py" in holder and " in spin" in holder
    assert res.loop_stall_classes["gil"].count >= 1
    blocking = res.loop_stall_classes.get("blocking")
    assert blocking is None or blocking.count < res.loop_stall_classes["gil"].count


def test_the_same_computation_alone_is_cpu() -> None:
    report = _profile("create_alone")
    row = _compute_row(report)
    assert row.kind == "cpu" and row.holder is None  # type: ignore[attr-defined]
    assert "gil" not in report.resources.loop_stall_classes
    assert "blocking" not in report.resources.loop_stall_classes


def test_a_sleep_is_blocking() -> None:
    report = run_profile(
        RunConfig(
            pipeline="stall_pipelines:create_sleeper",
            episodes=20,
            warmup=1,
            settings={"sleep_ms": 20.0},
        )
    )
    rows = [b for b in report.resources.blocking_calls if b.function == "Sleeper._store"]
    assert rows and rows[0].kind == "blocking" and rows[0].stage == "store"
