"""Rich renderable of a :class:`CompareReport`. The CLI owns the Console and prints it."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.model.schema import CompareReport
from ctool.reports import compare_text as fmt
from ctool.reports.movers import MOVER_COLUMNS, MOVERS_NOTE, mover_cells
from ctool.reports.registry import renderer

_STYLES = {
    "faster": "bold green",
    "better": "bold green",
    "slower": "bold red",
    "worse": "bold red",
    "within noise": "cyan",
    "inconclusive": "yellow",
}
HOTSPOT_ROWS = 10


@renderer("compare", "table")
def render_compare(report: CompareReport) -> RenderableType:
    parts: list[RenderableType] = [
        Text.assemble((f"{fmt.title(report)}  ", "bold"), f"{report.before}  →  {report.after}"),
        Text(fmt.mode_line(report), style="dim"),
    ]
    parts.extend(Text(f"! {warning}", style="yellow") for warning in fmt.warnings(report))
    parts.extend(Text(line, style="dim") for line in fmt.notes(report))

    conf = f"{100 * (1 - report.alpha):g} % interval"
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name, justify in (
        ("metric", "left"),
        ("before", "right"),
        ("after", "right"),
        ("ratio", "right"),
        (conf, "center"),
        ("p", "right"),
        ("verdict", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name == "verdict")  # type: ignore[arg-type]
    for row in report.metrics:
        metric = Text(("* " if row.gated else "  ") + fmt.label(row.metric, row.label))
        if row.unit:
            metric.append(f" ({row.unit})", style="dim")
        table.add_row(
            metric,
            fmt.number(row.before),
            fmt.number(row.after),
            fmt.ratio(row.ratio),
            fmt.interval(row.ci_low, row.ci_high, compact=True),
            fmt.p_value(row.p_value),
            Text(fmt.verdict_text(row), style=_STYLES.get(row.verdict, "")),
        )
    parts.append(table)
    parts.append(Text("* gated metric", style="dim"))

    behaviour_style = {"outputs identical": "green", "outputs changed": "bold red"}
    parts.append(
        Text.assemble(
            ("behaviour: ", "bold"),
            (report.behaviour, behaviour_style.get(report.behaviour, "yellow")),
            f"  ({report.behaviour_detail})" if report.behaviour_detail else "",
        )
    )
    if report.hotspots:
        spots = Table(title="hotspots", show_edge=False, pad_edge=False, header_style="bold")
        for name in ("change", "function", "where", "share before", "share after"):
            spots.add_column(name)
        for spot in report.hotspots[:HOTSPOT_ROWS]:
            spots.add_row(
                spot.change,
                spot.function,
                f"{spot.file}:{spot.line}",
                f"{100 * spot.share_before:.1f} %",
                f"{100 * spot.share_after:.1f} %",
            )
        parts.append(spots)
    if report.movers:
        moved = Table(
            title="biggest movers (py-spy)", show_edge=False, pad_edge=False, header_style="bold"
        )
        for name in MOVER_COLUMNS:
            moved.add_column(name, overflow="fold")
        for mover in report.movers:
            moved.add_row(*mover_cells(mover), style=None if mover.moved else "dim")
        parts.append(moved)
        parts.append(Text(MOVERS_NOTE, style="dim"))
    if report.environment_diff:
        env = Table(title="differences", show_edge=False, pad_edge=False, header_style="bold")
        for name in ("field", "before", "after"):
            env.add_column(name)
        for diff in report.environment_diff:
            env.add_row(diff.field, str(diff.before), str(diff.after))
        parts.append(env)
    verdict_style = "bold red" if report.regressions else "bold"
    parts.append(Text(fmt.headline(report), style=verdict_style))
    return Group(*parts)
