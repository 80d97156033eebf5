"""Input checks: a report fit for comparison, or a one-line :class:`ReportError`."""

from __future__ import annotations

import math

from ctool.model.errors import ReportError
from ctool.model.schema import ProfileReport, Report


def require_profile(report: Report, source: str) -> ProfileReport:
    """The report as a :class:`ProfileReport` fit for comparison, or a one-line ReportError."""
    if not isinstance(report, ProfileReport):
        raise ReportError(
            f"{source}: is a {report.kind} report; compare needs two profile reports "
            "(made by 'ctool profile -o FILE')"
        )
    if report.latency_ms.count == 0:
        raise ReportError(f"{source}: the report has zero episodes; nothing to compare")
    _check_values(report, source)
    return report


def _bad(value: float) -> bool:
    return not math.isfinite(value) or value < 0


def _check_values(report: ProfileReport, source: str) -> None:
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
