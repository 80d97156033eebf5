"""Markdown of a :class:`CompareReport`, sized for a pull-request comment.

The headline metrics go in the main table; per-stage rows, hotspots and environment
differences fold into ``<details>`` blocks so the comment stays short.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctool.model.schema import CompareReport, MetricComparison
from ctool.reports import compare_text as fmt
from ctool.reports.movers import MOVER_COLUMNS, MOVERS_NOTE, mover_cells
from ctool.reports.registry import renderer

_MARKS = {"faster": "🟢", "better": "🟢", "slower": "🔴", "worse": "🔴"}
HOTSPOT_ROWS = 10


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _metric_table(rows: Sequence[MetricComparison], conf: str) -> list[str]:
    lines = [
        f"| metric | before | after | ratio | {conf} | p | verdict |",
        "|:--|--:|--:|--:|:-:|--:|:--|",
    ]
    for row in rows:
        name = fmt.label(row.metric, row.label) + (" \\*" if row.gated else "")
        verdict = fmt.verdict_text(row)
        if row.verdict in _MARKS:
            verdict = f"{_MARKS[row.verdict]} **{verdict}**"
        lines.append(
            "| "
            + " | ".join(
                _cell(text)
                for text in (
                    name,
                    fmt.number(row.before, row.unit),
                    fmt.number(row.after, row.unit),
                    fmt.ratio(row.ratio),
                    fmt.interval(row.ci_low, row.ci_high),
                    fmt.p_value(row.p_value),
                    verdict,
                )
            )
            + " |"
        )
    return lines


def _details(summary: str, body: list[str]) -> list[str]:
    return ["", "<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


@renderer("compare", "markdown")
def render_markdown(report: CompareReport) -> str:
    conf = f"{100 * (1 - report.alpha):g} % interval"
    mark = "🔴" if report.regressions else ("🟢" if report.changes else "⚪")
    if report.blind_to_drift and report.changes:
        mark = "⚠️"
    lines = [
        f"### {mark} {fmt.title(report)}: {_cell(fmt.headline(report))}",
        "",
        f"`{_cell(report.before)}` → `{_cell(report.after)}` · {fmt.mode_line(report)}",
        "",
    ]
    lines.extend(f"> ⚠️ {_cell(warning)}" for warning in fmt.warnings(report))
    lines.extend(f"> {_cell(line)}" for line in fmt.notes(report))
    if fmt.warnings(report) or fmt.notes(report):
        lines.append("")
    main = [row for row in report.metrics if not fmt.is_stage(row)]
    stages = [row for row in report.metrics if fmt.is_stage(row)]
    lines.extend(_metric_table(main, conf))
    lines.append("")
    detail = f" ({_cell(report.behaviour_detail)})" if report.behaviour_detail else ""
    lines.append(f"**Behaviour:** {report.behaviour}{detail}")
    if stages:
        changed = sum(row.verdict in _MARKS for row in stages)
        lines.extend(
            _details(f"Stages ({len(stages)} rows, {changed} changed)", _metric_table(stages, conf))
        )
    if report.hotspots:
        body = [
            "| change | function | where | share before | share after |",
            "|:--|:--|:--|--:|--:|",
        ]
        body.extend(
            f"| {spot.change} | `{_cell(spot.function)}` | "
            f"`{_cell(spot.file)}:{spot.line}` | {100 * spot.share_before:.1f} % | "
            f"{100 * spot.share_after:.1f} % |"
            for spot in report.hotspots[:HOTSPOT_ROWS]
        )
        lines.extend(_details(f"Hotspots ({len(report.hotspots)} changed)", body))
    if report.movers:
        body = ["| " + " | ".join(MOVER_COLUMNS) + " |", "|:--|--:|--:|--:|--:|:--|"]
        body.extend(
            "| `" + _cell(cells[0]) + "` | " + " | ".join(cells[1:]) + " |"
            for cells in (mover_cells(m) for m in report.movers)
        )
        body += ["", MOVERS_NOTE]
        lines.extend(_details(f"Biggest movers ({len(report.movers)})", body))
    if report.environment_diff:
        body = ["| field | before | after |", "|:--|:--|:--|"]
        body.extend(
            f"| {diff.field} | {_cell(str(diff.before))} | {_cell(str(diff.after))} |"
            for diff in report.environment_diff
        )
        lines.extend(_details(f"Differences ({len(report.environment_diff)})", body))
    lines.extend(["", "<sub>\\* gated metric. Made by ctool; see docs/compare.md.</sub>", ""])
    return "\n".join(lines)
