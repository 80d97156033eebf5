"""The HTML page of a chaos report: the timeline with the fault windows shaded and the
control's line, every episode accounted for, the hypothesis per phase, recovery."""

from __future__ import annotations

from ctool.model.chaos_schema import ChaosReport
from ctool.model.format import significant
from ctool.reports import chaos_text
from ctool.reports.charts.chaos import ChaosWindow, chaos_timeline
from ctool.reports.html.cells import text
from ctool.reports.html.shared import environment_section, page_of
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table

_VERDICT_TONE = {"held": "good", "inconclusive": "warn"}


def chaos_page(report: ChaosReport) -> Page:
    sections = [_timeline_section(report)]
    for part in chaos_text.sections(report):
        if part.title.startswith("timeline"):
            continue
        rows = [[Cell(text(c), "num" if n else "") for n, c in enumerate(row)] for row in part.rows]
        numeric = [n > 0 for n in range(len(part.headers))]
        sections.append(
            Section(
                part.title.split(" (")[0].replace(" ", "-"),
                part.title,
                tables=[Table(part.headers, rows, numeric=numeric)],
            )
        )
    named = chaos_text.named_outcomes(report, limit=200)
    if named:
        sections.append(Section("outcomes", "Episodes that were not ok", items=named))
    sections.append(environment_section(report))
    a = report.accounting
    cards = [
        Card(
            "verdict",
            report.verdict,
            report.verdict_reason,
            _VERDICT_TONE.get(report.verdict, "bad"),
        ),
        Card("episodes", significant(a.started), "started, each counted once"),
        Card("ok", significant(a.ok), tone="good"),
        Card(
            "failed",
            significant(a.failed_total + a.timed_out + a.lost),
            tone="bad" if a.failed_total else "",
        ),
        Card(
            "wrong escaped", significant(a.wrong_escaped), tone="bad" if a.wrong_escaped else "good"
        ),
        Card("wrong caught", significant(a.wrong_caught)),
    ]
    return page_of(
        report,
        f"Chaos: {report.config.pipeline}",
        chaos_text.headline(report),
        cards,
        sections,
        warnings=list(report.warnings),
    )


def _timeline_section(report: ChaosReport) -> Section:
    windows = [
        ChaosWindow(
            middle_s=(w.start_s + w.end_s) / 2,
            p99_ms=w.p99_ms,
            control_p99_ms=w.control_p99_ms,
            ok_per_s=w.throughput_eps,
            control_per_s=w.control_throughput_eps,
            failed=w.errors,
            wrong=w.wrong,
        )
        for w in report.timeline
    ]
    end = report.experiment.duration_s
    shaded = [
        (f.start_s, f.end_s if f.end_s is not None else end, f.label) for f in report.fault_windows
    ]
    shaded += [
        (f.start_s, f.end_s if f.end_s is not None else end, f.label)
        for f in report.faults
        if f.target.startswith(("span:", "point:"))
    ]
    svg = chaos_timeline(windows, shaded)
    section = Section(
        "timeline", "Timeline", intro="Fault windows are shaded; the dashed line is the control."
    )
    if svg is not None:
        section.charts.append(Chart(svg, wide=True))
    return section
