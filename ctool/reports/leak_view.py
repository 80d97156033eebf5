"""Rich view of a leakcheck report: verdict, trends, a block chart of memory, sites, types.

Returns renderables; the CLI owns the Console. The chart is plain text (block characters),
so it survives a pipe, a CI log and ``NO_COLOR``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ctool.model.format import short_path, size
from ctool.model.schema import LeakcheckReport, SlopeFit, TypeGrowth
from ctool.reports.registry import renderer

__all__ = [
    "block_chart",
    "verdict_details",
    "render_leakcheck",
    "sparkline",
    "trend_headers",
    "trend_row",
    "type_row",
]

BLOCKS = " ▁▂▃▄▅▆▇█"
"""Nine levels: empty, then eighths of a cell."""

VERDICT_STYLE = {"leak": "bold red", "clean": "bold green", "inconclusive": "bold yellow"}


def _columns(values: Sequence[float], width: int) -> list[float]:
    """At most ``width`` columns: consecutive samples averaged into equal buckets."""
    n = len(values)
    if n <= width:
        return [float(v) for v in values]
    out = []
    for col in range(width):
        lo = col * n // width
        hi = max(lo + 1, (col + 1) * n // width)
        bucket = values[lo:hi]
        out.append(sum(bucket) / len(bucket))
    return out


def block_chart(values: Sequence[float], *, width: int = 60, height: int = 6) -> list[str]:
    """A ``height``-row chart of ``values`` scaled from their minimum to their maximum.

    Each column is filled from the bottom in eighths of a row. A flat series draws one
    low row, so "nothing happens" looks like nothing happens.
    """
    if not values:
        return []
    cols = _columns(values, width)
    lo, hi = min(cols), max(cols)
    span = hi - lo
    levels = height * 8
    heights = [1 if span == 0 else 1 + round((v - lo) / span * (levels - 1)) for v in cols]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(BLOCKS[min(8, max(0, h - base))] for h in heights))
    return rows


def sparkline(values: Sequence[float], *, width: int = 60) -> str:
    return block_chart(values, width=width, height=1)[0] if values else ""


def _chart(report: LeakcheckReport) -> RenderableType:
    samples = report.samples
    if not samples:
        return Text("")
    traced = [float(s.traced_bytes) for s in samples]
    rss = [float(s.rss_bytes) for s in samples]
    rows = block_chart(traced, width=60, height=6)
    top = size(max(traced))
    bottom = size(min(traced))
    label_width = max(len(top), len(bottom), len("RSS"))
    lines = Text()
    lines.append(f"retained memory ({report.engine}) over measured episodes\n", style="bold")
    for i, row in enumerate(rows):
        label = top if i == 0 else bottom if i == len(rows) - 1 else ""
        lines.append(f"{label:>{label_width}} ")
        lines.append(row + "\n", style="cyan")
    first, last = samples[0].episode, samples[-1].episode
    axis_width = len(rows[0])
    right = f"{last}"
    lines.append(" " * (label_width + 1) + f"{first}".ljust(max(1, axis_width - len(right))))
    lines.append(right + "\n")
    lines.append(f"{'RSS':>{label_width}} ")
    lines.append(sparkline(rss, width=60), style="magenta")
    lines.append(f"  {size(min(rss))} .. {size(max(rss))}")
    return lines


def _span(seconds: float) -> str:
    """A long duration in the largest unit that keeps it above 1 (s, min, h, days, years)."""
    for unit, length in (("years", 365 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= length:
            return f"{seconds / length:,.1f} {unit}"
    return f"{seconds:.1f} s"


def verdict_details(report: LeakcheckReport) -> list[str]:
    """The lines under the verdict: projection, plateau, detection limit, budget used,
    object evidence (each only when the report has it)."""
    lines: list[str] = []
    projection = report.projection
    if report.verdict != "clean" and projection is not None and projection.bytes_per_episode > 0:
        line = f"projection: {size(projection.bytes_per_million_episodes)} per million episodes"
        if projection.seconds_to_10pct_rss is not None and projection.episodes_per_s:
            line += (
                f"; +10% of RSS in {_span(projection.seconds_to_10pct_rss)} at this run's "
                f"{projection.episodes_per_s:,.0f} episodes/s"
            )
        lines.append(line)
    if report.plateau is not None:
        lines.append(
            f"plateau: {size(report.plateau.growth_bytes, signed=True)} above the start, "
            f"reached by measured episode {report.plateau.episode:,}"
        )
    if report.detection_limit_bytes_per_episode is not None and report.verdict != "leak":
        window = report.detection_window_episodes or 0
        lines.append(
            f"detection limit: steady growth below "
            f"{report.detection_limit_bytes_per_episode:,.1f} B/episode over the last "
            f"{window:,.0f} episodes would not have been seen"
        )
    if report.rss_beyond_traced_bytes_per_episode is not None:
        lines.append(
            f"RSS grew {report.rss_beyond_traced_bytes_per_episode:+,.0f} B/episode beyond "
            f"{report.engine}'s traced memory"
        )
    budget = report.budget
    if budget is not None and budget.rounds:
        rounds = " -> ".join(f"{r:,}" for r in budget.rounds)
        spent = "; budget spent" if budget.exhausted else ""
        lines.append(
            f"rounds: {rounds} episodes (horizon {budget.horizon:,}, at most "
            f"{budget.max_episodes:,} episodes or {budget.max_seconds:g} s{spent})"
        )
    lines += [f"object evidence: {item}" for item in report.evidence]
    return lines


def trend_row(name: str, fit: SlopeFit, late: SlopeFit | None) -> list[str]:
    growth = "-" if fit.growth_bytes is None else size(fit.growth_bytes, signed=True)
    share = fit.growth_pct_of_rss if fit.growth_pct_of_rss is not None else fit.growth_pct
    return [
        name,
        f"{fit.slope:+,.0f}",
        f"{fit.ci_low:+,.0f} .. {fit.ci_high:+,.0f}",
        "-" if late is None else f"{late.slope:+,.0f}",
        f"{growth} ({share:+.2f}%)",
        "-" if fit.first_bytes is None else size(fit.first_bytes),
    ]


def trend_headers(report: LeakcheckReport) -> tuple[str, ...]:
    level = int(round((report.confidence or 0.95) * 100))
    return ("memory", "slope", f"{level}% CI", "last third", "growth (% of RSS)", "from")


TYPE_HEADERS = ("type", "start", "end", "growth", "per episode", "steady", "made at")


def type_row(row: TypeGrowth) -> list[str]:
    return [
        row.type,
        f"{row.start:,}",
        f"{row.end:,}",
        f"{row.growth:+,}",
        f"{row.per_episode:.3f}",
        "-" if row.steady is None else "yes" if row.steady else "no",
        "-"
        if row.site is None
        else short_path(row.site) + (f" ({row.stage})" if row.stage else ""),
    ]


def _trends(report: LeakcheckReport) -> Table:
    table = Table(title="Trend: Theil-Sen slope, bytes per episode", title_justify="left")
    for header in trend_headers(report):
        table.add_column(header, justify="left" if header == "memory" else "right", no_wrap=True)
    table.add_row(*trend_row("traced", report.traced, report.traced_late))
    table.add_row(*trend_row("RSS", report.rss, report.rss_late))
    return table


def _sites(report: LeakcheckReport) -> RenderableType:
    if not report.sites:
        return Text("No allocation site grew over the measured episodes.", style="dim")
    table = Table(title="Top growing allocation sites", title_justify="left")
    table.add_column("B/episode", justify="right", no_wrap=True)
    table.add_column("grew", justify="right", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("site", overflow="fold")
    for site in report.sites:
        where = Text(f"{short_path(site.file)}:{site.line}")
        if site.function:
            where.append(f" in {site.function}")
        if site.code:
            where.append(f"\n{site.code}", style="dim")
        table.add_row(
            f"{site.bytes_per_episode:,.1f}",
            size(site.size_diff_bytes, signed=True),
            site.stage or "-",
            where,
        )
    return table


def _types(report: LeakcheckReport) -> RenderableType:
    if not report.types:
        return Text("No object type grew in number.", style="dim")
    table = Table(title="Object types whose count grew", title_justify="left")
    for header in TYPE_HEADERS:
        table.add_column(header, justify="left" if header in ("type", "made at") else "right")
    for row in report.types:
        table.add_row(*type_row(row))
    return table


@renderer("leakcheck", "table")
def render_leakcheck(report: LeakcheckReport) -> RenderableType:
    """The whole terminal view of one leakcheck report."""
    config = report.config
    head = Text()
    head.append("ctool leakcheck ", style="bold")
    head.append(config.pipeline)
    if config.preset:
        head.append(f"  preset {config.preset}")
    if config.seed is not None:
        head.append(f"  seed {config.seed}")
    head.append(
        f"\n{report.episodes} measured episodes after {report.warmup} warm-up, memory sampled "
        f"every {report.every}; threshold {report.threshold_bytes_per_episode:g} B/episode, "
        f"growth floor {report.growth_floor_pct:g}% of RSS; engine {report.engine}"
    )
    if report.duration_s is not None:
        head.append(f"; took {report.duration_s:.1f} s")
    verdict = Text()
    verdict.append(f"verdict: {report.verdict.upper()}", style=VERDICT_STYLE[report.verdict])
    if not report.complete:
        verdict.append(" (incomplete run)", style="yellow")
    verdict.append(f"\n{report.reason}")
    for line in verdict_details(report):
        verdict.append(f"\n{line}", style="dim")
    parts: list[RenderableType] = [head, Text(""), verdict, Text(""), _chart(report), Text("")]
    parts += [_trends(report), _sites(report), _types(report)]
    if report.errors.count:
        first = report.errors.samples[0] if report.errors.samples else None
        line = f"{report.errors.count} episodes raised"
        if first is not None:
            line += f" (first: {first.type}: {first.message})"
        parts.append(Text(line, style="yellow"))
    return Group(*parts)
