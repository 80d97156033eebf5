"""Charts over a run and between runs: timeline, windows, memory, ratios, strips, suite."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ctool.model.format import size_compact
from ctool.reports.charts.base import (
    AFTER,
    BAD,
    BEFORE,
    FULL_WIDTH_IN,
    GOOD,
    HALF_WIDTH_IN,
    NEUTRAL,
    P95,
    PRIMARY,
    Fit,
    RatioRow,
    decimate,
    ms_axis,
    render_chart,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    FloatArray = npt.NDArray[np.float64]


# --- resources and windows -----------------------------------------------------------------


_TIMELINE_PANELS = (
    ("rss_mb", "RSS (MB)"),
    ("cpu_percent", "CPU (% of one core)"),
    ("queue_depth", "queue depth"),
    ("loop_lag_ms", "event-loop lag (ms)"),
)


def timeline_chart(points: Sequence[dict[str, float]]) -> str | None:
    """Sampler timeline: one small panel per quantity present."""
    import numpy as np

    panels = [(k, t) for k, t in _TIMELINE_PANELS if any(k in p for p in points)]
    if not panels or len(points) < 2:
        return None

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (key, title) in zip(axes, panels, strict=True):
            rows = [(p.get("t_s", i), p[key]) for i, p in enumerate(points) if key in p]
            x = np.asarray([r[0] for r in rows], dtype=float)
            y = np.asarray([r[1] for r in rows], dtype=float)
            x, y = decimate(x, y, 600)
            ax.plot(x, y, color=PRIMARY, lw=1.2)
            ax.set_title(title)
            ax.set_xlabel("time (s)")
            ax.set_ylim(bottom=0)

    return render_chart(FULL_WIDTH_IN, 2.6, draw)


def windows_chart(
    title: str, xlabel: str, index: Sequence[int], p50: Sequence[float], p95: Sequence[float]
) -> str:
    """p50 and p95 of each batch or round, in order: drift shows as a slope."""

    def draw(fig: Figure) -> None:
        from matplotlib.ticker import MaxNLocator

        ax = fig.subplots()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        marker = "o" if len(index) <= 60 else None
        ax.plot(index, p50, marker=marker, ms=3.5, color=PRIMARY, label="p50")
        ax.plot(index, p95, marker=marker, ms=3.5, color=P95, label="p95")
        ms_axis(ax, "y", min(p50) or 1e-9, max(p95))
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.legend()

    return render_chart(HALF_WIDTH_IN, 3.0, draw)


# --- leakcheck -----------------------------------------------------------------------------


def _fit_line(ax: Axes, x: FloatArray, y_scale: float, fit: Fit, color: str, unit: str) -> None:
    import numpy as np

    xs = np.asarray([float(x.min()), float(x.max())])
    ax.plot(xs, (fit.intercept + fit.slope * xs) / y_scale, color=color, lw=2, label="fit")
    mid = float(np.median(x))
    pivot = fit.intercept + fit.slope * mid
    for s in (fit.ci_low, fit.ci_high):
        ax.plot(xs, (pivot + s * (xs - mid)) / y_scale, color=color, lw=0.9, ls=":")
    ax.annotate(
        f"slope {size_compact(fit.slope)}/episode\n"
        f"95% CI [{size_compact(fit.ci_low)}, {size_compact(fit.ci_high)}]",
        xy=(0.02, 0.96),
        xycoords="axes fraction",
        va="top",
        fontsize=9,
        color="#1f2937",
        bbox={"boxstyle": "round", "fc": "white", "ec": "#cbd5e1"},
    )
    ax.set_ylabel(unit)


def memory_chart(
    episodes: Sequence[int],
    traced_bytes: Sequence[int],
    rss_bytes: Sequence[int],
    traced_fit: Fit,
    rss_fit: Fit,
) -> str:
    """Retained (traced) bytes and RSS over episodes, each with its fitted slope and CI."""
    import numpy as np

    mib = 1024.0 * 1024.0
    x = np.asarray(episodes, dtype=float)

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, 2)
        for ax, values, fit, title in (
            (axes[0], traced_bytes, traced_fit, "Retained memory (tracemalloc, after gc)"),
            (axes[1], rss_bytes, rss_fit, "Resident set size (RSS)"),
        ):
            y = np.asarray(values, dtype=float)
            dx, dy = decimate(x, y, 800)
            ax.plot(dx, dy / mib, "o", ms=3, color=PRIMARY, alpha=0.55, mew=0, label="samples")
            _fit_line(ax, x, mib, fit, AFTER, "MiB")
            ax.set_xlabel("episode")
            ax.set_title(title)
            ax.legend(loc="lower right")

    return render_chart(FULL_WIDTH_IN, 3.6, draw)


# --- compare -------------------------------------------------------------------------------


def ratio_forest(rows: Sequence[RatioRow], threshold: float, *, confidence: str = "95%") -> str:
    """after/before per metric with its interval; the shaded band is the threshold.

    ``confidence`` labels the intervals (``ctool.model.format.confidence`` of the alpha).
    """
    colors = {
        "faster": GOOD,
        "better": GOOD,
        "slower": BAD,
        "worse": BAD,
    }

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        ax.axvspan(1 - threshold, 1 + threshold, color="#e2e8f0", alpha=0.7, lw=0)
        ax.axvline(1.0, color="#475569", lw=1)
        for i, r in enumerate(rows):
            color = colors.get(r.verdict, NEUTRAL)
            if r.ci_low is not None and r.ci_high is not None:
                ax.plot([r.ci_low, r.ci_high], [i, i], color=color, lw=2, alpha=0.7)
            ax.plot([r.ratio], [i], "o", color=color, ms=5)
            ax.annotate(f"  ×{r.ratio:.3f}  {r.verdict}", (r.ratio, i), va="center", fontsize=8.5)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r.metric for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel(f"after / before (shaded: ±{threshold * 100:.0f}% threshold)")
        ax.set_title(f"Change per metric, with {confidence} intervals")
        ax.grid(axis="y", visible=False)
        values = [r.ratio for r in rows]
        values += [v for r in rows for v in (r.ci_low, r.ci_high) if v is not None]
        lo = min(min(v for v in values if v > 0) if any(v > 0 for v in values) else 1.0,
                 1 - threshold)  # fmt: skip
        hi = max(max(values), 1 + threshold)
        if hi / lo > 2.5:
            # Ratios of 0.02 and 10 on one page: a log axis keeps both, and 1 in the middle.
            from matplotlib.ticker import FuncFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"×{v:g}"))
            ax.set_xlim(lo / 1.6, hi * 4.0)
        else:
            pad = (hi - lo) * 0.08
            ax.set_xlim(lo - pad, hi + (hi - lo) * 0.35)

    return render_chart(FULL_WIDTH_IN, 0.9 + 0.26 * len(rows), draw)


@dataclass
class Strip:
    metric: str
    before: list[float]
    after: list[float]


def window_strips(items: Sequence[Strip], mode: str) -> str:
    """Small multiples: each window's value before (left) and after (right), medians marked."""
    import numpy as np

    cols = min(4, len(items))
    rows = math.ceil(len(items) / cols)
    unit = {"rounds": "round", "ab": "round", "batches": "batch"}.get(mode, "window")

    def draw(fig: Figure) -> None:
        axes = fig.subplots(rows, cols, squeeze=False)
        rng = np.random.default_rng(0)  # jitter only; fixed so the page renders the same
        for ax, item in zip(axes.flat, items, strict=False):
            for pos, values, color in ((0, item.before, BEFORE), (1, item.after, AFTER)):
                jitter = rng.uniform(-0.12, 0.12, size=len(values))
                ax.plot(pos + jitter, values, "o", ms=4, color=color, alpha=0.75, mew=0)
                median = float(np.median(values))
                ax.plot([pos - 0.25, pos + 0.25], [median, median], color="#1f2937", lw=1.6)
            ax.set_xticks([0, 1])
            ax.set_xticklabels([f"before ({len(item.before)})", f"after ({len(item.after)})"])
            ax.set_xlim(-0.6, 1.6)
            ax.set_title(item.metric, fontsize=10)
            ax.grid(axis="x", visible=False)
        for ax in list(axes.flat)[len(items) :]:
            ax.set_visible(False)
        fig.suptitle(
            f"What each test compared: one dot per {unit}, bar = median",
            x=0.01,
            ha="left",
            fontsize=11,
            fontweight="bold",
        )

    return render_chart(FULL_WIDTH_IN, 0.6 + 2.6 * rows, draw)


# --- suite ---------------------------------------------------------------------------------


@dataclass
class ScenarioBar:
    label: str
    ratio: float
    """measured / target."""
    status: str


def scenario_chart(rows: Sequence[ScenarioBar]) -> str:
    """Each scenario's measurement as a multiple of its target, coloured by verdict."""
    colors = {"pass": GOOD, "fail": BAD, "error": BAD}

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        for i, r in enumerate(rows):
            ax.barh(i, r.ratio, height=0.7, color=colors.get(r.status, NEUTRAL), alpha=0.85)
            ax.annotate(f"  ×{r.ratio:.2f} {r.status}", (r.ratio, i), va="center", fontsize=8.5)
        ax.axvline(1.0, color="#1f2937", lw=1)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r.label for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, max(r.ratio for r in rows) * 1.25)
        ax.set_xlabel("measured / target (the line is the target)")
        ax.set_title("Scenarios against their targets")
        ax.grid(axis="y", visible=False)

    return render_chart(FULL_WIDTH_IN, 0.9 + 0.24 * len(rows), draw)
