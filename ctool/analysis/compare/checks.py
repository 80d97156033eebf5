"""Input checks: a report fit for comparison, or a one-line :class:`ReportError`."""

from __future__ import annotations

from ctool.model.errors import ReportError
from ctool.model.schema import ProfileReport, Report
from ctool.model.values import check_values


def require_profile(report: Report, source: str) -> ProfileReport:
    """The report as a :class:`ProfileReport` fit for comparison, or a one-line ReportError."""
    if not isinstance(report, ProfileReport):
        raise ReportError(
            f"{source}: is a {report.kind} report; compare needs two profile reports "
            "(made by 'ctool profile -o FILE')"
        )
    if report.latency_ms.count == 0:
        raise ReportError(f"{source}: the report has zero episodes; nothing to compare")
    check_values(report, source)  # done on load too; a report built in memory meets it here
    return report
