"""Latency charts: histogram, CDF, percentile spectrum, summary percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ctool.model.format import ms_unit
from ctool.reports.charts.base import (
    FULL_WIDTH_IN,
    HALF_WIDTH_IN,
    HIST_BINS,
    PRIMARY,
    LatencySeries,
    ms_axis,
    render_chart,
    wide_range,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

    FloatArray = npt.NDArray[np.float64]


# --- latency -------------------------------------------------------------------------------


def latency_histogram(series: Sequence[LatencySeries]) -> str:
    """Distribution of episode latency; several series are overlaid as % of episodes."""
    import numpy as np

    series = [s for s in series if len(s.values_ms)]
    lo = min(float(np.min(s.values_ms)) for s in series)
    top = max(float(np.quantile(s.values_ms, 0.999)) for s in series)
    peak = max(float(np.max(s.values_ms)) for s in series)
    hi = peak if peak <= top * 1.5 else top * 1.1
    if hi <= lo:
        hi = lo * 1.01 + 1e-6
    log = wide_range(lo, hi)
    edges = np.geomspace(lo, hi, HIST_BINS + 1) if log else np.linspace(lo, hi, HIST_BINS + 1)
    overlay = len(series) > 1

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for s in series:
            counts, _ = np.histogram(s.values_ms, bins=edges)
            y = counts * 100.0 / len(s.values_ms) if overlay else counts
            beyond = int(np.sum(s.values_ms > hi))
            label = s.label + (f" ({beyond} beyond {ms_unit(hi)} not shown)" if beyond else "")
            ax.stairs(y, edges, fill=True, alpha=0.28, color=s.color)
            ax.stairs(y, edges, color=s.color, linewidth=1.4, label=label)
            for q, style in ((0.5, "--"), (0.99, ":")):
                v = float(np.quantile(s.values_ms, q))
                if v <= hi:
                    ax.axvline(v, color=s.color, linestyle=style, linewidth=1.1)
        ms_axis(ax, "x", lo, hi)
        ax.set_xlim(lo, hi)
        ax.set_ylabel("% of episodes" if overlay else "episodes")
        ax.set_xlabel("episode latency  (dashed: p50, dotted: p99)")
        ax.set_title("Latency distribution")
        if overlay or ax.get_legend_handles_labels()[1] != [s.label for s in series]:
            ax.legend(loc="upper right")

    return render_chart(FULL_WIDTH_IN, 3.2, draw)


def latency_cdf(series: Sequence[LatencySeries]) -> str:
    """Cumulative distribution: the percentile of episodes at or below each latency."""
    import numpy as np

    series = [s for s in series if len(s.values_ms)]
    lo = min(float(np.min(s.values_ms)) for s in series)
    hi = max(float(np.max(s.values_ms)) for s in series)
    grid = np.linspace(0.0, 1.0, 401)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for s in series:
            ax.plot(np.quantile(s.values_ms, grid), grid * 100, color=s.color, label=s.label)
        ms_axis(ax, "x", lo, hi)
        ax.set_ylim(0, 100)
        ax.set_ylabel("percentile")
        ax.set_xlabel("episode latency")
        ax.set_title("Cumulative distribution")
        if len(series) > 1:
            ax.legend(loc="lower right")

    return render_chart(HALF_WIDTH_IN, 3.4, draw)


def percentile_spectrum(series: Sequence[LatencySeries]) -> str:
    """The tail, HdrHistogram style: latency against 90%, 99%, 99.9%... on a log scale."""
    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter

    series = [s for s in series if len(s.values_ms)]
    nines = max(1.0, math.log10(max(len(s.values_ms) for s in series)))
    lo = min(float(np.min(s.values_ms)) for s in series)
    hi = max(float(np.max(s.values_ms)) for s in series)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for s in series:
            depth = max(1.0, math.log10(len(s.values_ms)))
            x = np.linspace(0.0, depth, 240)
            y = np.quantile(s.values_ms, 1.0 - 10.0 ** (-x))
            ax.plot(x, y, color=s.color, label=s.label)
            ax.plot([depth], [float(np.max(s.values_ms))], "o", color=s.color, ms=4)
        ticks = [float(t) for t in range(int(math.floor(nines)) + 1)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(_nines_label))
        ax.set_xlim(0, nines + 0.05)
        ms_axis(ax, "y", lo, hi)
        ax.set_xlabel("percentile (dot: max)")
        ax.set_ylabel("latency")
        ax.set_title("Percentile spectrum (the tail)")
        if len(series) > 1:
            ax.legend(loc="upper left")

    return render_chart(HALF_WIDTH_IN, 3.4, draw)


def _nines_label(value: float, _pos: int) -> str:
    q = 100.0 * (1.0 - 10.0 ** (-value))
    return f"{q:.{max(0, int(round(value)) - 2)}f}%"


def summary_percentiles(label: str, points: Sequence[tuple[str, float]]) -> str:
    """When a report carries no raw samples: its percentiles as a bar chart."""

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        names = [n for n, _ in points]
        values = [v for _, v in points]
        ax.bar(names, values, color=PRIMARY, alpha=0.85)
        for i, v in enumerate(values):
            ax.annotate(ms_unit(v), (i, v), ha="center", va="bottom", fontsize=9)
        ax.set_yscale("log" if wide_range(min(values) or 1e-9, max(values)) else "linear")
        ax.set_title(f"Latency percentiles: {label} (no raw samples in the report)")
        ax.set_ylabel("ms")

    return render_chart(HALF_WIDTH_IN, 3.2, draw)
