"""Terminal rendering of a suite report: one verdict row per scenario."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.reports.schema import ScenarioResult, SuiteReport

STATUS_STYLE = {"pass": "green", "fail": "bold red", "skipped": "yellow", "error": "bold magenta"}


def format_measured(value: Any, unit: str | None) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        if unit == "" and 0 <= value <= 1:
            return f"{100 * value:.1f} %"
        text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return f"{text} {unit}".strip() if unit else text
    return f"{value} {unit}".strip() if unit and isinstance(value, int) else str(value)


def scenario_row(result: ScenarioResult) -> tuple[str, str, str, str, Text, str]:
    return (
        str(result.id),
        result.title,
        format_measured(result.measured, result.unit),
        str(result.target or ""),
        Text(result.status, style=STATUS_STYLE.get(result.status, "")),
        result.detail,
    )


def render_suite(report: SuiteReport) -> RenderableType:
    mode = "quick" if report.quick else "full"
    table = Table(
        title=f"ctool suite ({mode}) — {report.config.pipeline}"
        + (f" preset={report.config.preset}" if report.config.preset else ""),
        show_lines=False,
        expand=False,
    )
    for name, kwargs in (
        ("#", {"justify": "right"}),
        ("scenario", {}),
        ("measured", {"justify": "right"}),
        ("target", {}),
        ("verdict", {}),
        ("detail", {"overflow": "fold", "max_width": 70}),
    ):
        table.add_column(name, **kwargs)  # type: ignore[arg-type]
    for result in report.scenarios:
        table.add_row(*scenario_row(result))
    summary = Text(
        f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped"
        + ("" if report.complete else " (INCOMPLETE: interrupted)"),
        style="bold red" if report.failed or not report.complete else "bold green",
    )
    return Group(table, summary)


def render_suite_markdown(report: SuiteReport) -> str:
    lines = [
        f"| # | scenario | measured | target | verdict | detail |",
        "|---:|---|---:|---|---|---|",
    ]
    for result in report.scenarios:
        row = scenario_row(result)
        cells = [row[0], row[1], row[2], row[3], row[4].plain, row[5]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.append(f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return "\n".join(lines) + "\n"
