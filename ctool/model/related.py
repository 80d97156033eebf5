"""Load a saved report together with the reports it refers to.

A compare report names its before and after files; when they still exist they are loaded
too, so a renderer can overlay their distributions. They are looked up as written, then
next to the compare report. A missing one is normal (files move); an unreadable one is a
warning, never an error: the compare report alone still renders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ctool.model.errors import ReportError
from ctool.model.io import load_report
from ctool.model.schema import CompareReport, Report


@dataclass
class LoadedReport:
    report: Report
    directory: Path
    """Where the report file lives: relative artifact paths are looked up there."""
    related: list[Report] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _locate(name: str, directory: Path) -> Path | None:
    candidate = Path(name)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in (Path.cwd(), directory):
        if (base / candidate).is_file():
            return base / candidate
    return None


def load_with_related(path: str | os.PathLike[str]) -> LoadedReport:
    """``load_report(path)`` plus, for a compare report, its before and after reports."""
    report = load_report(path)
    directory = Path(path).resolve().parent
    loaded = LoadedReport(report, directory)
    if not isinstance(report, CompareReport):
        return loaded
    found: list[Report] = []
    for side, name in (("before", report.before), ("after", report.after)):
        where = _locate(name, directory)
        if where is None:
            if report.mode != "ab":  # an ab report names its sides, not files
                loaded.warnings.append(f"{side} report {name} not found; no overlay")
            continue
        try:
            found.append(load_report(where))
        except ReportError as exc:
            loaded.warnings.append(f"{side} report skipped: {exc.message}")
    if len(found) == 2:
        loaded.related = found
    return loaded
