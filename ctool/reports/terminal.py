"""Rich renderables for reports. Returns renderables; the CLI owns the Console."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from ctool.model.schema import ProfileReport
from ctool.reports.fit import FitColumn, FittedTable
from ctool.reports.registry import renderer
from ctool.reports.sections import RIGHT, Section, footer, headline, profile_sections

BAR_WIDTH = 8


def _bar(share: float) -> Text:
    filled = max(0, min(BAR_WIDTH, round(share * BAR_WIDTH)))
    return Text("█" * filled + "·" * (BAR_WIDTH - filled), style="cyan")


def section_table(section: Section) -> FittedTable:
    """A section as a table that fits the console's width (names shorten, numbers never)."""
    has_bars = any(b is not None for b in section.bars)
    table = FittedTable(
        columns=[
            FitColumn(header, kind="number", right=True)
            if align == RIGHT
            else FitColumn(header, kind="name")
            for header, align in section.columns
        ],
        table_options={
            "title": section.title,
            "title_justify": "left",
            "title_style": "bold",
            "caption": "\n".join(section.notes) or None,
            "caption_justify": "left",
            "caption_style": "dim",
            "box": box.SIMPLE_HEAD,
            "show_edge": False,
            "pad_edge": False,
            "padding": (0, 1),
            "expand": False,
        },
    )
    if has_bars:
        table.extra_columns = [("", BAR_WIDTH)]
    for row, style, bar in zip(section.rows, section.styles, section.bars, strict=True):
        table.add_row(row, style)
        if has_bars:
            table.extra_cells.append(
                [_bar(bar) if bar is not None and style != "dim" else Text("")]
            )
    return table


@renderer("profile", "table")
def render_profile(report: ProfileReport) -> Group:
    """The on-screen profile: a headline, then one table per section, then a footer."""
    parts: list[RenderableType] = [Text(headline(report), style="bold")]
    for section in profile_sections(report):
        parts.append(Text(""))
        parts.append(section_table(section))
    notes = footer(report)
    if notes:
        parts.append(Text(""))
        parts.extend(
            Text(line, style="yellow" if line.startswith("warning") else "dim") for line in notes
        )
    return Group(*parts)
