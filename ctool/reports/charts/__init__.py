"""Charts for the HTML report: matplotlib figures rendered to compact inline SVG.

``base`` holds the contract (plain values in, one ``<svg>`` string out), the palette, the
shared data classes and the SVG plumbing; the charts themselves are grouped by what they
show. Everything a page needs is importable from ``ctool.reports.charts``.
"""

from ctool.reports.charts.base import (
    AFTER,
    BAD,
    BEFORE,
    GOOD,
    NEUTRAL,
    P95,
    P99,
    PRIMARY,
    Fit,
    LatencySeries,
    LoadPoint,
    LoadSeries,
    RatioRow,
    StageBar,
    StageGroup,
    compact_svg,
    decimate,
)
from ctool.reports.charts.latency import (
    latency_cdf,
    latency_histogram,
    percentile_spectrum,
    summary_percentiles,
)
from ctool.reports.charts.load import load_curve, stage_bars
from ctool.reports.charts.runs import (
    ScenarioBar,
    Strip,
    memory_chart,
    ratio_forest,
    scenario_chart,
    timeline_chart,
    window_strips,
    windows_chart,
)

__all__ = [
    "AFTER",
    "BAD",
    "BEFORE",
    "GOOD",
    "NEUTRAL",
    "P95",
    "P99",
    "PRIMARY",
    "Fit",
    "LatencySeries",
    "LoadPoint",
    "LoadSeries",
    "RatioRow",
    "ScenarioBar",
    "StageBar",
    "StageGroup",
    "Strip",
    "compact_svg",
    "decimate",
    "latency_cdf",
    "latency_histogram",
    "load_curve",
    "memory_chart",
    "percentile_spectrum",
    "ratio_forest",
    "scenario_chart",
    "stage_bars",
    "summary_percentiles",
    "timeline_chart",
    "window_strips",
    "windows_chart",
]
