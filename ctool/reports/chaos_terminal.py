"""Terminal and markdown rendering of a chaos report (cells from ``chaos_text``)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.model.chaos_schema import ChaosReport
from ctool.reports import chaos_text
from ctool.reports.registry import renderer

VERDICT_STYLE = {"held": "bold green", "inconclusive": "yellow"}


@renderer("chaos", "table")
def render_chaos(report: ChaosReport) -> RenderableType:
    parts: list[RenderableType] = [Text(chaos_text.headline(report), style="bold")]
    for section in chaos_text.sections(report):
        table = Table(title=section.title, title_justify="left")
        for n, header in enumerate(section.headers):
            table.add_column(header, justify="left" if n == 0 else "right", overflow="fold")
        for row in section.rows:
            table.add_row(*row)
        parts.append(table)
    named = chaos_text.named_outcomes(report)
    if named:
        parts.append(Text("episodes not ok: " + "; ".join(named), style="dim"))
    parts += [Text(f"warning: {w}", style="yellow") for w in report.warnings]
    style = VERDICT_STYLE.get(report.verdict, "bold red")
    parts.append(Text(chaos_text.verdict_line(report), style=style))
    return Group(*parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


@renderer("chaos", "markdown")
def render_chaos_markdown(report: ChaosReport) -> str:
    lines = [f"## {chaos_text.headline(report)}", ""]
    for section in chaos_text.sections(report):
        lines += [f"### {section.title}", ""]
        lines.append("| " + " | ".join(section.headers) + " |")
        lines.append("|" + "|".join("---" for _ in section.headers) + "|")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
        lines.append("")
    named = chaos_text.named_outcomes(report)
    if named:
        lines += ["Episodes not ok: " + "; ".join(named), ""]
    lines += [f"- warning: {w}" for w in report.warnings]
    lines += ["", f"**{chaos_text.verdict_line(report)}**"]
    return "\n".join(lines) + "\n"
