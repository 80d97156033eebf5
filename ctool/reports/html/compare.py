"""The HTML page of a compare report: the verdict, the change per metric, the overlays.

Intervals are labelled at the report's own confidence (``1 - alpha``), as in the terminal
and markdown renderings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ctool.model.format import confidence, significant
from ctool.model.schema import CompareReport, MetricComparison, ProfileReport, Report
from ctool.reports import charts
from ctool.reports.html.cells import (
    MAX_TABLE_ROWS,
    generic_table,
    is_number,
    kv_table,
    ms_cell,
    num_cell,
    opt,
    pct_text,
    report_warnings,
    where,
)
from ctool.reports.html.flame import diff_flame_section
from ctool.reports.html.shared import (
    environment_section,
    latency_section,
    load_series,
    page_of,
    stage_group,
)
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table
from ctool.reports.movers import MOVER_COLUMNS, MOVERS_NOTE, mover_cells

MAX_FOREST_ROWS = 40
MAX_STRIPS = 8
_VERDICT_TONE = {"faster": "good", "better": "good", "slower": "bad", "worse": "bad"}
_CHANGE_TONE = {"appeared": "warn", "grew": "bad", "shrank": "good", "vanished": "good"}


def compare_page(
    report: CompareReport, related: Sequence[Report], base_dirs: Sequence[Path] = ()
) -> Page:
    """``related`` holds the two compared profile reports, when they could be read."""
    profiles = [r for r in related if isinstance(r, ProfileReport)]
    sections = [_verdict_section(report), _metrics_section(report)]
    if len(profiles) >= 2:
        sections += _overlay_sections(profiles[0], profiles[1])
    else:
        sections.append(_no_overlay_section(report))
    if report.movers:
        sections.append(Section("movers", "Biggest movers (py-spy)", tables=[_movers(report)]))
    flame = diff_flame_section(report, base_dirs)
    if flame is not None:
        sections.append(flame)
    if report.hotspots:
        sections.append(
            Section("hotspots", "Hotspots, before and after", tables=[_hotspot_changes(report)])
        )
    sections.append(_environment(report))
    return page_of(
        report,
        "Comparison",
        f"{report.before} → {report.after}",
        _compare_cards(report),
        sections,
        report_warnings(report),
    )


def _compare_cards(report: CompareReport) -> list[Card]:
    behaviour_tone = {"outputs identical": "good", "outputs changed": "bad"}.get(
        report.behaviour, "warn"
    )
    changed = [m for m in report.metrics if m.verdict in _VERDICT_TONE]
    cards = [
        Card(
            "regressions",
            significant(len(report.regressions)),
            tone="bad" if report.regressions else "good",
        ),
        Card("significant changes", significant(len(changed))),
        Card("behaviour", report.behaviour, tone=behaviour_tone),
        Card(
            "design",
            report.mode,
            "blind to drift" if report.blind_to_drift else "paired",
            "warn" if report.blind_to_drift else "",
        ),
        Card("threshold", pct_text(report.threshold, 0), f"alpha {report.alpha:g}"),
    ]
    cards.extend(
        Card(m.metric, f"×{m.ratio:.3f}", m.verdict, _VERDICT_TONE.get(m.verdict, ""))
        for m in report.metrics
        if m.metric in ("latency.p50", "throughput") and m.ratio is not None
    )
    return cards


# --- verdict -------------------------------------------------------------------------------


def _verdict_section(report: CompareReport) -> Section:
    verdict = Section("verdict", "Verdict")
    verdict.intro = report.behaviour_detail or ""
    gate = opt(report, "gate", [])
    if gate:
        verdict.notes.append("Gated metrics: " + ", ".join(str(g) for g in gate) + ".")
    verdict.items = _verdict_items(report)
    if report.blind_to_drift:
        verdict.notes.append(
            "Both files come from single runs: the test works on batch medians and cannot see "
            "run-to-run drift. Use `ctool profile --rounds R` on both sides for a verdict that can."
        )
    return verdict


def _verdict_items(report: CompareReport) -> list[str]:
    rows = {m.metric: m for m in report.metrics}
    level = confidence(report.alpha)

    def described(name: str) -> str:
        m = rows.get(name)
        if m is None or m.ratio is None:
            return name
        ci = (
            ""
            if m.ci_low is None or m.ci_high is None
            else f", {level} CI ×{m.ci_low:.3f}–×{m.ci_high:.3f}"
        )
        return f"{name} {m.verdict}: ×{m.ratio:.3f}{ci}"

    items = [f"Regression: {described(r)}" for r in report.regressions]
    items += [f"Changed: {described(c)}" for c in report.changes if c not in report.regressions]
    if not items:
        items = ["No gated metric changed beyond the threshold."]
    loose = [m for m in report.metrics if not m.gated and m.verdict in _VERDICT_TONE]
    if loose:
        items.append(
            "Not gated, but "
            + ", ".join(
                f"{m.metric} {m.verdict}" + (f" (×{m.ratio:.3g})" if m.ratio is not None else "")
                for m in loose
            )
        )
    why: dict[str, list[str]] = {}
    for m in report.metrics:
        if m.verdict == "inconclusive":
            why.setdefault(str(opt(m, "note", "")) or "no reason given", []).append(m.metric)
    for reason, names in why.items():
        items.append(f"Inconclusive ({len(names)} metrics): {reason}")
    return items


# --- change per metric ---------------------------------------------------------------------


def _metrics_section(report: CompareReport) -> Section:
    metrics = Section("metrics", "Change per metric")
    rows_for_chart = [
        charts.RatioRow(m.metric, m.ratio, m.ci_low, m.ci_high, m.verdict)
        for m in report.metrics
        if m.ratio is not None and math.isfinite(m.ratio)
    ][:MAX_FOREST_ROWS]
    if rows_for_chart:
        forest = charts.ratio_forest(
            rows_for_chart, report.threshold, confidence=confidence(report.alpha)
        )
        metrics.charts.append(Chart(wide=True, svg=forest))
    strips = _window_strips(report)
    if strips:
        metrics.charts.append(Chart(wide=True, svg=strips))
    metrics.tables.append(_metrics_table(report))
    return metrics


def _metrics_table(report: CompareReport) -> Table:
    methods = [m.method for m in report.metrics if m.method]
    common_method = max(set(methods), key=methods.count) if methods else ""
    rows = [_metric_row(m, common_method) for m in report.metrics]
    cols = ["metric", "before", "after", "ratio", f"{confidence(report.alpha)} CI"]
    cols += ["p", "n", "verdict", "how", ""]
    return Table(
        cols,
        rows,
        numeric=[False] + [True] * 6 + [False] * 3,
        note=f"Method, unless the row says otherwise: {common_method}." if common_method else None,
    )


def _metric_row(m: MetricComparison, common_method: str) -> list[Cell]:
    ci = "–" if m.ci_low is None or m.ci_high is None else f"[{m.ci_low:.3f}, {m.ci_high:.3f}]"
    unit = opt(m, "unit")
    n_before, n_after = opt(m, "n_before"), opt(m, "n_after")
    method = "" if m.method == common_method else m.method
    how = " · ".join(x for x in (method, str(opt(m, "note", ""))) if x)
    return [
        Cell(m.metric, "mono"),
        _value_cell(m.before, unit),
        _value_cell(m.after, unit),
        num_cell(m.ratio, None if m.ratio is None else f"×{m.ratio:.3f}"),
        Cell(ci, "num"),
        num_cell(m.p_value, None if m.p_value is None else f"{m.p_value:.3g}"),
        Cell(
            "–" if n_before is None else f"{n_before} / {n_after}",
            "num",
            title="windows (rounds or batches) before / after",
        ),
        Cell(m.verdict, "pill " + _VERDICT_TONE.get(m.verdict, "")),
        Cell(how, "wrap"),
        Cell("gate" if m.gated else ""),
    ]


def _value_cell(value: float | None, unit: str | None) -> Cell:
    if value is None:
        return Cell("–", "num")
    if unit == "ms":
        return ms_cell(value)
    shown = significant(value) + (f" {unit}" if unit else "")
    return Cell(shown, "num", sort=value)


def _window_strips(report: CompareReport) -> str | None:
    """The per-window values each test worked on, before and after, for a few metrics."""
    windows = opt(report, "windows", {})
    if not isinstance(windows, Mapping):
        return None
    items = []
    for metric, sides in windows.items():
        if not isinstance(sides, Mapping):
            continue
        b, a = sides.get("before") or [], sides.get("after") or []
        if b and a and all(is_number(v) for v in (*b, *a)):
            items.append(charts.Strip(str(metric), [float(v) for v in b], [float(v) for v in a]))
    if not items:
        return None
    return charts.window_strips(items[:MAX_STRIPS], report.mode)


# --- before and after overlays -------------------------------------------------------------


def _overlay_sections(before: ProfileReport, after: ProfileReport) -> list[Section]:
    """Latency, stages and load curve of the two compared runs, drawn over each other."""
    sections = [
        latency_section(
            [
                ("before", before.latency_ms, charts.BEFORE),
                ("after", after.latency_ms, charts.AFTER),
            ],
            "Latency, before and after",
        )
    ]
    if before.stages or after.stages:
        groups = [
            stage_group("before", before.stages, charts.BEFORE),
            stage_group("after", after.stages, charts.AFTER),
        ]
        sec = Section("stages", "Per-stage breakdown, before and after")
        sec.charts.append(Chart(wide=True, svg=charts.stage_bars(groups)))
        sections.append(sec)
    if len(before.load) >= 2 and len(after.load) >= 2:
        curves = [
            load_series(before, "before", charts.BEFORE, True),
            load_series(after, "after", charts.AFTER, False),
        ]
        sec = Section("load", "Load curve, before and after")
        sec.charts.append(Chart(wide=True, svg=charts.load_curve(curves)))
        sections.append(sec)
    return sections


def _no_overlay_section(report: CompareReport) -> Section:
    why = (
        "An ab report keeps per-round values, not the raw latencies of its sides: "
        "`ctool ab --html` draws the overlay while it runs."
        if report.mode == "ab"
        else f"The compared files ({report.before}, {report.after}) were not "
        "available, so there is no overlay of their distributions."
    )
    return Section("latency", "Latency, before and after", notes=[why])


# --- hotspots and environment --------------------------------------------------------------


def _share_cell(value: Any) -> Cell:
    if not is_number(value):
        return Cell("–", "num")
    return Cell(pct_text(float(value)), "num", sort=float(value))


def _hotspot_changes(report: CompareReport) -> Table:
    """Hotspots whose share of their profiler's time changed."""
    body = [
        [
            Cell(r.change, "pill " + _CHANGE_TONE.get(r.change, "")),
            Cell(r.profiler, "mono"),
            Cell(r.function, "mono"),
            where(r.file, r.line),
            _share_cell(r.share_before),
            _share_cell(r.share_after),
        ]
        for r in report.hotspots[:MAX_TABLE_ROWS]
    ]
    cols = ["change", "profiler", "function", "where", "share before", "share after"]
    return Table(
        cols,
        body,
        numeric=[False] * 4 + [True] * 2,
        note="Share of the profiler's time in each run (runs of different lengths compare).",
    )


def _movers(report: CompareReport) -> Table:
    """The rows whose share moved most, with their intervals."""
    body = [
        [Cell(cells[0], "mono"), *(Cell(c, "num") for c in cells[1:5]), Cell(cells[5], "pill")]
        for cells in (mover_cells(m) for m in report.movers)
    ]
    return Table(
        list(MOVER_COLUMNS),
        body,
        numeric=[False, True, True, True, True, False],
        note=MOVERS_NOTE,
    )


def _environment(report: CompareReport) -> Section:
    tables = []
    if report.environment_diff:
        tables.append(
            generic_table(
                [d.model_dump() for d in report.environment_diff],
                caption="Differences between the two runs",
            )
        )
    tables.append(
        kv_table([("before", report.before), ("after", report.after)], caption="Compared files")
    )
    return environment_section(report, tables)
