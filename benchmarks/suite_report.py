"""Side-by-side markdown of two ``ctool suite -o`` reports (e.g. optimized and baseline).

    ctool suite -o suite-optimized.json
    ctool suite --preset baseline -o suite-baseline.json
    python benchmarks/suite_report.py suite-optimized.json suite-baseline.json

Prints the table used in docs/performance-report.md: one row per scenario, each report's
measured value and verdict, the target, and each report's detail line.
"""

from __future__ import annotations

import sys

from ctool.model.io import load_report
from ctool.model.schema import SuiteReport
from ctool.reports.suite_terminal import format_measured


def main(paths: list[str]) -> int:
    reports = []
    for path in paths:
        report = load_report(path)
        if not isinstance(report, SuiteReport):
            print(f"{path}: not a suite report", file=sys.stderr)
            return 2
        reports.append(report)
    names = [r.config.preset or "default" for r in reports]
    header = ["#", "scenario", "target"]
    for name in names:
        header += [f"{name}", "verdict"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---:", "---", "---"] + ["---:", "---"] * len(reports)) + "|")
    rows = {r.id: r for r in reports[0].scenarios}
    for sid, first in rows.items():
        cells = [str(sid), first.title, str(first.target or "")]
        for report in reports:
            match = next((s for s in report.scenarios if s.id == sid), None)
            if match is None:
                cells += ["", "not run"]
            else:
                verdict = match.status if match.status == "pass" else f"**{match.status}**"
                cells += [format_measured(match.measured, match.unit), verdict]
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for name, report in zip(names, reports, strict=True):
        print(
            f"\n**{name}** ({report.created_at}, {report.environment.cpu_model}, "
            f"{report.environment.cpu_count} CPUs): {report.passed} passed, "
            f"{report.failed} failed, {report.skipped} skipped\n"
        )
        for s in report.scenarios:
            print(f"- {s.id}. {s.detail} ({s.duration_s or 0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
