"""Rich renderables for reports. Returns renderables; the CLI owns the Console."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.model.schema import ProfileReport
from ctool.reports.registry import renderer
from ctool.reports.sections import RIGHT, Section, footer, headline, profile_sections

BAR_WIDTH = 8


def _bar(share: float) -> Text:
    filled = max(0, min(BAR_WIDTH, round(share * BAR_WIDTH)))
    return Text("█" * filled + "·" * (BAR_WIDTH - filled), style="cyan")


def section_table(section: Section) -> Table:
    has_bars = any(b is not None for b in section.bars)
    table = Table(
        title=section.title,
        title_justify="left",
        title_style="bold",
        caption="\n".join(section.notes) or None,
        caption_justify="left",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        expand=False,
    )
    multiline = any("\n" in cell for row in section.rows for cell in row)
    for i, (header, align) in enumerate(section.columns):
        if align == RIGHT:
            table.add_column(header, justify="right", no_wrap=True)
        else:  # the first column names the row: keep it on one line when it fits
            table.add_column(header, overflow="fold", no_wrap=i == 0 and not multiline)
    if has_bars:
        table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    for row, style, bar in zip(section.rows, section.styles, section.bars, strict=True):
        cells: list[RenderableType] = list(row)
        if has_bars:
            cells.append(_bar(bar) if bar is not None and style != "dim" else Text(""))
        table.add_row(*cells, style=style)
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
