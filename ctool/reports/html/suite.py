"""The HTML page of a suite report: each scenario against its target, and their curves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ctool.model.format import significant
from ctool.model.schema import SuiteReport
from ctool.reports import charts
from ctool.reports.html.cells import is_number, kv_tables, num_cell, text
from ctool.reports.html.shared import environment_section, page_of
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table

_STATUS_TONE = {"pass": "good", "fail": "bad", "error": "bad", "skipped": "warn"}


def suite_page(report: SuiteReport) -> Page:
    sections = [_scenarios_section(report)]
    curves = []
    for s in report.scenarios:
        series = _levels_series(s.data.get("levels"), s.title)
        if series is not None:
            curves.append(Chart(charts.load_curve([series], title=f"{s.id}. {s.title}"), wide=True))
    if curves:
        sections.append(Section("scenario-charts", "Scenario load curves", charts=curves))
    if report.targets:
        sections.append(
            Section("targets", "Targets", tables=kv_tables(list(report.targets.items())))
        )
    sections.append(environment_section(report))
    return page_of(
        report,
        f"Performance suite: {report.config.pipeline}",
        f"{report.passed} passed · {report.failed} failed · {report.skipped} skipped",
        _suite_cards(report),
        sections,
    )


def _suite_cards(report: SuiteReport) -> list[Card]:
    total = len(report.scenarios)
    errors = sum(1 for s in report.scenarios if s.status == "error")
    cards = [
        Card("scenarios", significant(total), "quick mode" if report.quick else "full"),
        Card("passed", significant(report.passed), tone="good" if report.passed else ""),
        Card("failed", significant(report.failed), tone="bad" if report.failed else "good"),
        Card("skipped", significant(report.skipped), tone="warn" if report.skipped else ""),
    ]
    if errors:
        cards.append(Card("errors", significant(errors), tone="bad"))
    return cards


def _scenarios_section(report: SuiteReport) -> Section:
    sec = Section("scenarios", "Scenarios")
    rows = []
    for s in report.scenarios:
        data = json.dumps(s.data, indent=1, default=str, sort_keys=True) if s.data else None
        measured = _with_unit(s.measured, s.unit)
        target = _with_unit(s.target, s.unit)
        rows.append(
            [
                num_cell(s.id),
                Cell(s.name, "mono"),
                Cell(s.title, "wrap"),
                Cell(s.status, "pill " + _STATUS_TONE.get(s.status, "")),
                Cell(measured, "num"),
                Cell(target, "num"),
                Cell(s.detail, "wrap", details=data),
                num_cell(s.duration_s, None if s.duration_s is None else f"{s.duration_s:.1f} s"),
            ]
        )
    bars = [
        charts.ScenarioBar(f"{s.id}. {s.name}", float(s.measured) / float(s.target), s.status)
        for s in report.scenarios
        if is_number(s.measured) and is_number(s.target) and float(s.target) > 0
    ]
    if bars:
        sec.charts.append(Chart(charts.scenario_chart(bars), wide=True))
    cols = ["#", "name", "scenario", "status", "measured", "target", "detail", "took"]
    sec.tables.append(
        Table(cols, rows, numeric=[True, False, False, False, True, True, False, True])
    )
    return sec


def _with_unit(value: Any, unit: str | None) -> str:
    shown = text(value)
    if value is None or not unit or shown.endswith(unit):
        return shown
    return f"{shown} {unit}"


def _levels_series(levels: Any, label: str) -> charts.LoadSeries | None:
    """A scenario's ``data["levels"]`` (concurrency rows) as a load curve, when it is one."""
    if not isinstance(levels, list) or len(levels) < 2:
        return None
    keys = ("concurrency", "p50_ms", "p95_ms", "p99_ms", "throughput_eps")
    if not all(isinstance(r, Mapping) and all(is_number(r.get(k)) for k in keys) for r in levels):
        return None
    points = [
        charts.LoadPoint(
            float(r["concurrency"]),
            f"c={r['concurrency']:g}",
            float(r["p50_ms"]),
            float(r["p95_ms"]),
            float(r["p99_ms"]),
            float(r["throughput_eps"]),
        )
        for r in levels
    ]
    return charts.LoadSeries(label, "concurrency", points)
