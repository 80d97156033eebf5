"""Sections and tables more than one page kind shows: latency, stages, load, environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ctool.model.schema import LatencySummary, ProfileReport, Report, StageStats
from ctool.reports import charts
from ctool.reports.html.cells import (
    kv_table,
    ms_cell,
    num_cell,
    pct_text,
    share_bar,
)
from ctool.reports.html.view import Card, Cell, Chart, Page, Section, Table

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def latencies_ms(summary: LatencySummary | None) -> npt.NDArray[np.float64] | None:
    """The raw latencies of a summary in ms, or None when absent or unreadable."""
    from ctool.model.samples import ENCODING, decode_ns

    if summary is None or summary.samples is None or summary.samples.count == 0:
        return None
    if summary.samples.encoding != ENCODING:
        return None
    try:
        ns = decode_ns(summary.samples.data, summary.samples.count)
    except ValueError:
        return None
    return ns.astype("float64") / 1e6


def percentile_table(rows: Sequence[tuple[str, LatencySummary]]) -> Table:
    cols = ["run", "episodes", "mean", "stdev", "min", "p50", "p90", "p95", "p99", "p99.9", "max"]
    body = []
    for label, s in rows:
        body.append(
            [Cell(label), num_cell(s.count)]
            + [
                ms_cell(v)
                for v in (s.mean, s.stdev, s.min, s.p50, s.p90, s.p95, s.p99, s.p999, s.max)
            ]
        )
    return Table(cols, body, numeric=[False] + [True] * 10)


def latency_section(
    runs: Sequence[tuple[str, LatencySummary, str]], title: str = "Latency"
) -> Section:
    """Histogram and CDF of one run, or several overlaid (label, summary, colour)."""
    sec = Section("latency", title)
    series = []
    for label, summary, color in runs:
        values = latencies_ms(summary)
        if values is not None:
            series.append(charts.LatencySeries(label, values, color))
    if series:
        sec.charts.append(Chart(wide=True, svg=charts.latency_histogram(series)))
        sec.charts += [Chart(charts.latency_cdf(series)), Chart(charts.percentile_spectrum(series))]
        missing = [label for label, s, _ in runs if latencies_ms(s) is None]
        if missing:
            sec.notes.append("No raw latency samples in: " + ", ".join(missing) + ".")
    else:
        for label, s, _ in runs:
            if s.count:
                pts = [("p50", s.p50), ("p90", s.p90), ("p95", s.p95), ("p99", s.p99)]
                pts += [("p99.9", s.p999), ("max", s.max)]
                sec.charts.append(Chart(charts.summary_percentiles(label, pts)))
    sec.tables.append(percentile_table([(label, s) for label, s, _ in runs]))
    return sec


def stage_group(label: str, stages: Mapping[str, StageStats], color: str) -> charts.StageGroup:
    bars = [
        charts.StageBar(name, st.depth, st.mean_ms, st.p95_ms, st.p99_ms, st.share)
        for name, st in stages.items()
    ]
    return charts.StageGroup(label, bars, color)


def stage_table(stages: Mapping[str, StageStats], caption: str | None = None) -> Table:
    rows = []
    for name, st in stages.items():
        label = ("↳ " if st.depth else "") + name
        rows.append(
            [
                Cell(label, "mono" + (" nested" if st.depth else "")),
                num_cell(st.count),
                ms_cell(st.mean_ms),
                ms_cell(st.p50_ms),
                ms_cell(st.p95_ms),
                ms_cell(st.p99_ms),
                Cell(pct_text(st.share), "num", sort=st.share, bar=share_bar(st.share)),
            ]
        )
    cols = ["stage", "count", "mean", "p50", "p95", "p99", "share of episode"]
    return Table(cols, rows, caption=caption, numeric=[False] + [True] * 6)


def _load_axis(report: ProfileReport) -> str:
    """What the load levels vary: "concurrency", "rate", or neither ("level")."""
    if all(level.concurrency is not None for level in report.load):
        return "concurrency"
    if all(level.rate is not None for level in report.load):
        return "rate"
    return "level"


def load_series(report: ProfileReport, label: str, color: str, dashed: bool) -> charts.LoadSeries:
    axis = _load_axis(report)
    points = []
    for i, level in enumerate(report.load):
        x: float | None = None
        if axis == "concurrency":
            x = float(level.concurrency or 0)
        elif axis == "rate":
            x = float(level.rate or 0.0)
        name = level.label or (
            f"c={level.concurrency}"
            if level.concurrency is not None
            else f"{level.rate:g}/s"
            if level.rate is not None
            else f"#{i + 1}"
        )
        points.append(
            charts.LoadPoint(
                x, name, level.p50_ms, level.p95_ms, level.p99_ms, level.throughput_eps
            )
        )
    series = charts.LoadSeries(label, axis, points, dashed=dashed, color=color)
    verdict = report.load_verdict
    if axis == "concurrency" and verdict is not None:
        for at, name in ((verdict.knee_concurrency, "knee"), (verdict.cliff_concurrency, "cliff")):
            if at is not None:
                series.marks.append((float(at), name))
    return series


def load_table(report: ProfileReport, caption: str | None = None) -> Table:
    rows = []
    for i, level in enumerate(report.load):
        what = level.label or (
            f"concurrency {level.concurrency}"
            if level.concurrency is not None
            else f"rate {level.rate:g}/s"
            if level.rate is not None
            else f"level {i + 1}"
        )
        rows.append(
            [
                Cell(what),
                num_cell(level.episodes),
                ms_cell(level.p50_ms),
                ms_cell(level.p95_ms),
                ms_cell(level.p99_ms),
                ms_cell(level.max_ms),
                num_cell(level.throughput_eps),
                num_cell(level.errors),
                num_cell(level.queue_depth_max),
            ]
        )
    cols = ["level", "episodes", "p50", "p95", "p99", "max", "episodes/s", "errors", "max queue"]
    return Table(cols, rows, caption=caption, numeric=[False] + [True] * 8)


def environment_section(report: Report, extra_tables: Sequence[Table] = ()) -> Section:
    sec = Section("environment", "Environment and command")
    sec.code = report.config.command or None
    if sec.code is None:
        sec.notes.append("The command line was not recorded in this report.")
    env = report.environment.model_dump()
    sec.tables.append(kv_table(env.items(), caption="Machine"))
    config = report.config.model_dump(exclude={"command", "settings"})
    pairs = [(k, v) for k, v in config.items() if v not in (None, [], {})]
    pairs += [(f"settings.{k}", v) for k, v in report.config.settings.items()]
    sec.tables.append(kv_table(pairs, caption="Run configuration"))
    sec.tables.extend(extra_tables)
    return sec


def page_of(
    report: Report,
    title: str,
    subtitle: str,
    cards: list[Card],
    sections: list[Section],
    warnings: list[str] | None = None,
) -> Page:
    """A page with the fields every report carries (kind, time, version, completeness)."""
    return Page(
        title=title,
        subtitle=subtitle,
        kind=report.kind,
        created_at=report.created_at,
        ctool_version=report.ctool_version,
        complete=report.complete,
        cards=cards,
        sections=sections,
        warnings=[] if warnings is None else warnings,
    )
