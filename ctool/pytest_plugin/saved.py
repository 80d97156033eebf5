"""``--ctool-save DIR`` and ``--ctool-compare DIR``: a measured test's report on disk (the
same JSON as ``ctool profile -o``), and this run compared with it by ctool's compare
statistics.

A saved report is an earlier run: both sides are batches of one run each, so the comparison
is blind to drift between runs (``CompareReport.blind_to_drift``). The gate is therefore not
compare's bare 5 % threshold but a drift floor (``DRIFT_FLOOR``, ``--ctool-compare-threshold``
to change it), and a failure says so. A report saved on another machine (CPU model, core
count, Python, ctool version) is not compared at all.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ctool.model.format import confidence, ms_unit

if TYPE_CHECKING:
    from ctool.model.compare_schema import CompareReport
    from ctool.model.schema import ProfileReport

DRIFT_FLOOR = 0.20
"""The default gate of ``--ctool-compare``: a gated metric fails only when it is
significantly worse by more than 20 %. Two pytest sessions on one machine differ by
run-to-run drift that batches of one run cannot see: at 5 %, identical code was flagged in 2
of 11 consecutive-session pairs on a loaded 2-core machine, at 20 % in none
(benchmarks/pytest_compare_drift.py; docs/pytest.md)."""
GATE = ("p50",)
"""The gated metric: the robust centre (compare's default gate)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]]+")


def report_path(directory: str | Path, nodeid: str) -> Path:
    """``tests/test_x.py::test_y[1]`` -> ``DIR/tests_test_x.py_test_y[1].json`` (a hash is
    added when the name had to be shortened)."""
    name = _UNSAFE.sub("_", nodeid).strip("_") or "test"
    if len(name) > 150:
        digest = hashlib.sha1(nodeid.encode()).hexdigest()[:10]
        name = f"{name[:140]}-{digest}"
    return Path(directory) / f"{name}.json"


def save(report: ProfileReport, directory: str | Path, nodeid: str) -> Path:
    from ctool.model.io import write_report

    path = report_path(directory, nodeid)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_report(report, path)
    return path


@dataclass
class Comparison:
    path: Path
    status: str
    """``compared``, ``regressed``, ``skipped`` (another machine) or ``missing``."""
    text: str
    report: CompareReport | None = None


ENVIRONMENT_FIELDS = ("cpu_model", "cpu_count", "python", "implementation")


def machine_differences(saved: ProfileReport, current: ProfileReport) -> list[str]:
    """What makes the saved report another machine's: its CPU, core count, Python or ctool."""
    differences = []
    for name in ENVIRONMENT_FIELDS:
        before = getattr(saved.environment, name)
        after = getattr(current.environment, name)
        if before != after:
            differences.append(f"{name} {before!r} -> {after!r}")
    if saved.ctool_version != current.ctool_version:
        differences.append(f"ctool_version {saved.ctool_version!r} -> {current.ctool_version!r}")
    return differences


def compare_saved(
    current: ProfileReport, directory: str | Path, nodeid: str, threshold: float = DRIFT_FLOOR
) -> Comparison:
    from ctool.analysis.compare import compare_reports, require_profile
    from ctool.model.errors import CtoolError
    from ctool.model.io import load_report

    path = report_path(directory, nodeid)
    if not path.is_file():
        return Comparison(path, "missing", f"no saved report {path}: nothing compared")
    try:
        saved = require_profile(load_report(path), str(path))
    except CtoolError as exc:
        return Comparison(path, "missing", f"saved report unusable: {exc.message}")
    differences = machine_differences(saved, current)
    if differences:
        return Comparison(
            path,
            "skipped",
            f"comparison skipped: {path} was saved on another machine ({'; '.join(differences)})",
        )
    report = compare_reports(
        saved, current, before_name=str(path), after_name="this run",
        threshold=threshold, gate=list(GATE),
    )  # fmt: skip
    if report.regressions:
        return Comparison(path, "regressed", regression_text(report, path), report)
    row = next((r for r in report.metrics if r.gated), None)
    summary = f"{row.metric} {row.verdict}" if row else "no gated metric"
    return Comparison(path, "compared", f"compared with {path}: {summary}", report)


def regression_text(report: CompareReport, path: Path) -> str:
    lines = [f"regressed against the saved report {path}:"]
    for row in report.metrics:
        if row.metric not in report.regressions:
            continue
        interval = ""
        if row.ci_low is not None and row.ci_high is not None:
            interval = (
                f", {confidence(report.alpha)} interval x{row.ci_low:.2f}..x{row.ci_high:.2f}"
            )
        p_value = f", p={row.p_value:.2g}" if row.p_value is not None else ""
        before = ms_unit(row.before) if row.before is not None else "?"
        after = ms_unit(row.after) if row.after is not None else "?"
        ratio = f"x{row.ratio:.2f}" if row.ratio is not None else "?"
        lines.append(
            f"  {row.metric}: {before} -> {after} ({ratio}{interval}{p_value}): {row.verdict}"
        )
    lines.append(
        f"  gate: significantly worse by more than {100 * report.threshold:g} %. The saved "
        "file is an earlier run: this comparison cannot see drift between runs, so the gate "
        "is a drift floor (--ctool-compare-threshold), not compare's 5 %. For a verdict that "
        "accounts for drift, run `ctool ab` (interleaved rounds)."
    )
    return "\n".join(lines)
