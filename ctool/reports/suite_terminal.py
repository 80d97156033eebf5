"""Terminal rendering of a suite report: one verdict row per scenario."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.model.schema import SuiteReport
from ctool.reports.registry import renderer

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


@renderer("suite", "table")
def render_suite(report: SuiteReport) -> RenderableType:
    mode = "quick" if report.quick else "full"
    preset = f" preset={report.config.preset}" if report.config.preset else ""
    table = Table(title=f"ctool suite ({mode}) — {report.config.pipeline}{preset}")
    table.add_column("#", justify="right")
    table.add_column("scenario", overflow="fold", ratio=3)
    table.add_column("measured", justify="right", ratio=1)
    table.add_column("target", ratio=1)
    table.add_column("verdict")
    for result in report.scenarios:
        scenario = Text(result.title)
        if result.detail:
            scenario.append("\n" + result.detail, style="dim")
        table.add_row(
            str(result.id),
            scenario,
            format_measured(result.measured, result.unit),
            str(result.target or ""),
            Text(result.status, style=STATUS_STYLE.get(result.status, "")),
        )
    summary = Text(
        f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped"
        + ("" if report.complete else " (INCOMPLETE: interrupted)"),
        style="bold red" if report.failed or not report.complete else "bold green",
    )
    return Group(table, summary)


@renderer("suite", "markdown")
def render_suite_markdown(report: SuiteReport) -> str:
    lines = [
        "| # | scenario | measured | target | verdict | detail |",
        "|---:|---|---:|---|---|---|",
    ]
    for r in report.scenarios:
        cells = [
            str(r.id),
            r.title,
            format_measured(r.measured, r.unit),
            str(r.target or ""),
            f"**{r.status}**" if r.status != "pass" else r.status,
            r.detail,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.append(f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return "\n".join(lines) + "\n"
