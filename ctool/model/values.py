"""Values no profile report may hold, checked once, where a report is loaded.

A negative or non-finite throughput, stage time or window statistic is refused by
:func:`ctool.model.io.parse_report` (so ``ctool report`` never prints "-5.0 episodes/s") and
by ``ctool compare`` for a report built in memory: one rule for every reader.
"""

from __future__ import annotations

import math

from ctool.model.errors import ReportError
from ctool.model.schema import ProfileReport, Report


def _bad(value: float) -> bool:
    return not math.isfinite(value) or value < 0


def check_values(report: Report, source: str) -> None:
    """Raise a one-line :class:`ReportError` naming the first impossible value."""
    if not isinstance(report, ProfileReport):
        return
    if _bad(report.throughput_eps):
        raise ReportError(f"{source}: throughput_eps is {report.throughput_eps}")
    for name, stage in report.stages.items():
        for field in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
            value = getattr(stage, field)
            if _bad(value):
                raise ReportError(f"{source}: stages.{name}.{field} is {value}")
    for label, windows in (("rounds", report.rounds), ("batches", report.batches)):
        for pos, window in enumerate(windows):
            for field in ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
                value = getattr(window, field)
                if _bad(value):
                    raise ReportError(f"{source}: {label}[{pos}].{field} is {value}")
            if window.throughput_eps is not None and _bad(window.throughput_eps):
                raise ReportError(
                    f"{source}: {label}[{pos}].throughput_eps is {window.throughput_eps}"
                )
            for stage_name, stats in window.stages.items():
                for field, value in stats.items():
                    if _bad(value):
                        raise ReportError(
                            f"{source}: {label}[{pos}].stages.{stage_name}.{field} is {value}"
                        )
