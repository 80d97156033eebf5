"""History records made by hand, with known values, for the history tests."""

from __future__ import annotations

from ctool.history.gitinfo import CommitInfo
from ctool.history.record import HistoryRecord, Metric

MACHINE_INFO = {"cpu_model": "Test CPU", "cores": 2, "memory_gib": 8, "os": "Linux test",
                "python": "3.11.7", "implementation": "CPython"}  # fmt: skip


def make_record(
    index: int,
    value: float,
    *,
    machine: str = "m1",
    pipeline: str = "toy:create",
    metric: str = "latency.p50",
    writer: str = "",
) -> HistoryRecord:
    """Commit ``index`` (commit time ``index`` seconds after 2026-01-01) with one metric."""
    sha = f"{writer}{index:08d}".ljust(40, "0")
    parent = f"{writer}{index - 1:08d}".ljust(40, "0")
    when = f"2026-01-01T{index // 3600:02d}:{index // 60 % 60:02d}:{index % 60:02d}+00:00"
    return HistoryRecord(
        commit=CommitInfo(sha, parent, "main", when, False, f"commit {index}"),
        machine=machine,
        machine_info={**MACHINE_INFO, "cpu_model": f"CPU of {machine}"},
        env_hash="e" * 16,
        ctool_version="0.1",
        pipeline=pipeline,
        settings_hash="s" * 16,
        settings={"preset": None},
        kind="profile",
        created_at=when,
        metrics=[Metric(metric, value, unit="ms", lower_is_better=True)],
        source="test",
    )
