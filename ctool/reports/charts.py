"""Charts for the HTML report: matplotlib figures rendered to compact inline SVG.

Contract: every function takes plain values (numpy arrays, floats, labels) and returns one
``<svg>`` element as a string, ready to be placed inline in an HTML page:

* no XML prolog, DOCTYPE or metadata; ``id`` attributes are prefixed with a per-chart key so
  that several charts on one page never share an id;
* small whatever the run length: histograms and quantile grids, never one point per episode;
  long series are decimated (min/max per bucket, so spikes survive) and coordinates rounded;
* text from a report (stage names, labels) is escaped by matplotlib's SVG writer, and
  mathtext is off, so a ``$`` in a name is just a dollar sign.

matplotlib is imported inside the functions (never at import of ``ctool.cli``) and only the
object-oriented ``Figure`` API is used: no pyplot, no GUI backend, no global figure state.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ctool.model.format import ms_unit, size_compact

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

    FloatArray = npt.NDArray[np.float64]

# One palette for the whole report (colour-blind safe: Okabe-Ito).
BEFORE = "#7a869a"
AFTER = "#d55e00"
PRIMARY = "#0072b2"
P95 = "#e69f00"
P99 = "#cc79a7"
GOOD = "#009e73"
BAD = "#d55e00"
NEUTRAL = "#7a869a"

FULL_WIDTH_IN = 14.4
"""Figures are drawn at the size they are shown (72 SVG units per inch = 1 CSS px each), so
that a 9 pt label reads as 9 px; the page scales them down on narrow screens."""

HALF_WIDTH_IN = 7.0
"""Two half-width charts and the gap between them fit the page's content width."""

MAX_LINE_POINTS = 1200
HIST_BINS = 60

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ctool",
    "text.parse_math": False,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9aa3b2",
    "axes.labelcolor": "#334155",
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#475569",
    "ytick.color": "#475569",
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
}


@dataclass
class LatencySeries:
    """Raw latencies of one run, in milliseconds, with how to draw them."""

    label: str
    values_ms: FloatArray
    color: str = PRIMARY


@dataclass
class StageBar:
    name: str
    depth: int
    mean_ms: float
    p95_ms: float
    p99_ms: float
    share: float


@dataclass
class StageGroup:
    label: str
    stages: list[StageBar]
    color: str = PRIMARY


@dataclass
class LoadPoint:
    x: float | None
    label: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput_eps: float


@dataclass
class LoadSeries:
    label: str
    axis: str
    """``"concurrency"``, ``"rate"`` or ``"level"`` (categorical: bursts, windows)."""
    points: list[LoadPoint] = field(default_factory=list)
    dashed: bool = False
    color: str = PRIMARY
    marks: list[tuple[float, str]] = field(default_factory=list)
    """Vertical markers on the x axis, e.g. ``(8.0, "knee")``."""


@dataclass
class Fit:
    slope: float
    ci_low: float
    ci_high: float
    intercept: float


@dataclass
class RatioRow:
    metric: str
    ratio: float
    ci_low: float | None
    ci_high: float | None
    verdict: str


# --- SVG plumbing ------------------------------------------------------------------------

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_MPL_STYLE = re.compile(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", re.S)
_GROUP_ID = re.compile(r'<g id="[^"]*"')
_GEOMETRY = re.compile(r'\b(d|x|y|x1|x2|y1|y2|width|height|transform|points)="([^"]*)"')
_LONG_FLOAT = re.compile(r"(-?\d+\.\d\d)\d+")
_DEF_ID = re.compile(r'\bid="([^"]+)"')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def _round_geometry(match: re.Match[str]) -> str:
    value = _LONG_FLOAT.sub(r"\1", match.group(2))
    value = re.sub(r"\s*\n\s*", " ", value).strip()
    return f'{match.group(1)}="{value}"'


def compact_svg(svg: str, key: str) -> str:
    """Turn matplotlib's standalone SVG file into a small element safe to inline.

    ``key`` prefixes every remaining id (markers, clip paths) so charts never clash.
    """
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg, count=1)
    svg = _MPL_STYLE.sub("", svg, count=1)
    svg = _GROUP_ID.sub("<g", svg)  # group ids are never referenced
    svg = _GEOMETRY.sub(_round_geometry, svg)
    for old in sorted(set(_DEF_ID.findall(svg)), key=len, reverse=True):
        new = f"{key}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
        svg = svg.replace(f"url(#{old})", f"url(#{new})")
    svg = _SIZE.sub(r'<svg\1 width="\2" height="\3" class="chart" role="img"', svg, count=1)
    return re.sub(r">\s+<", "><", svg).strip()


@contextmanager
def _figure(width_in: float, height_in: float, out: list[str]) -> Iterator[Figure]:
    """Yield a fresh Figure; on exit append its compact SVG to ``out``."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        yield fig
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    # The key comes from the content, so a page renders the same every time.
    out.append(compact_svg(text, "c" + hashlib.sha1(text.encode()).hexdigest()[:8]))


def _render(width_in: float, height_in: float, draw: Any) -> str:
    out: list[str] = []
    with _figure(width_in, height_in, out) as fig:
        draw(fig)
    return out[0]


# --- numbers -------------------------------------------------------------------------------


def decimate(x: FloatArray, y: FloatArray, max_points: int = MAX_LINE_POINTS) -> tuple[Any, Any]:
    """Reduce a long series to at most ``max_points`` keeping each bucket's min and max."""
    import numpy as np

    n = len(x)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for start, stop in itertools.pairwise(edges.tolist()):
        if stop <= start:
            continue
        seg = y[start:stop]
        lo = start + int(np.argmin(seg))
        hi = start + int(np.argmax(seg))
        keep.extend(sorted({lo, hi}))
    idx = np.asarray(keep, dtype=np.int64)
    return x[idx], y[idx]


def _wide(lo: float, hi: float) -> bool:
    return lo > 0 and hi / lo > 20


def _ms_axis(ax: Axes, which: str, lo: float, hi: float) -> None:
    """Label an axis in ms/s; a log scale (ticks at 1, 2, 5 per decade) for wide ranges."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    if _wide(lo, hi):
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        decades = math.log10(hi / lo)
        subs = (1.0,) if decades > 3.5 else (1.0, 2.0, 5.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: ms_unit(v)))


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
    log = _wide(lo, hi)
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
        _ms_axis(ax, "x", lo, hi)
        ax.set_xlim(lo, hi)
        ax.set_ylabel("% of episodes" if overlay else "episodes")
        ax.set_xlabel("episode latency  (dashed: p50, dotted: p99)")
        ax.set_title("Latency distribution")
        if overlay or ax.get_legend_handles_labels()[1] != [s.label for s in series]:
            ax.legend(loc="upper right")

    return _render(FULL_WIDTH_IN, 3.2, draw)


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
        _ms_axis(ax, "x", lo, hi)
        ax.set_ylim(0, 100)
        ax.set_ylabel("percentile")
        ax.set_xlabel("episode latency")
        ax.set_title("Cumulative distribution")
        if len(series) > 1:
            ax.legend(loc="lower right")

    return _render(HALF_WIDTH_IN, 3.4, draw)


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
        _ms_axis(ax, "y", lo, hi)
        ax.set_xlabel("percentile (dot: max)")
        ax.set_ylabel("latency")
        ax.set_title("Percentile spectrum (the tail)")
        if len(series) > 1:
            ax.legend(loc="upper left")

    return _render(HALF_WIDTH_IN, 3.4, draw)


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
        ax.set_yscale("log" if _wide(min(values) or 1e-9, max(values)) else "linear")
        ax.set_title(f"Latency percentiles: {label} (no raw samples in the report)")
        ax.set_ylabel("ms")

    return _render(HALF_WIDTH_IN, 3.2, draw)


# --- stages --------------------------------------------------------------------------------


def stage_bars(groups: Sequence[StageGroup]) -> str:
    """Mean time per stage (bars) with p95 (tick); nested stages lighter and indented.

    Several groups (before/after) are drawn side by side per stage.
    """
    import numpy as np

    names: list[str] = []
    depth: dict[str, int] = {}
    for g in groups:
        for st in g.stages:
            if st.name not in depth:
                names.append(st.name)
                depth[st.name] = st.depth
    k = len(groups)
    height = 0.8 / k
    rows = len(names)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        ypos = np.arange(rows, dtype=float)
        xmax = max((st.p95_ms for g in groups for st in g.stages), default=0.0)
        for gi, g in enumerate(groups):
            by_name = {st.name: st for st in g.stages}
            offset = (gi - (k - 1) / 2) * height
            for r, name in enumerate(names):
                st = by_name.get(name)
                if st is None:
                    continue
                y = ypos[r] + offset
                alpha = 0.9 if st.depth == 0 else 0.5
                ax.barh(y, st.mean_ms, height=height * 0.85, color=g.color, alpha=alpha)
                ax.plot([st.mean_ms, st.p95_ms], [y, y], color="#94a3b8", lw=0.9)
                ax.plot([st.p95_ms], [y], "|", color="#1f2937", ms=9 / k + 3, mew=1.6)
                # The label sits at the bar's end, over the p95 whisker (white box), so it
                # reads with its bar however long the tail is.
                ax.annotate(
                    f"{ms_unit(st.mean_ms)} · {st.share * 100:.1f}%",
                    (st.mean_ms, y),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=9 if k == 1 else 8,
                    color="#334155",
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
                    zorder=5,
                )
        ax.set_yticks(ypos)
        ax.set_yticklabels([("↳ " if depth[n] else "") + n for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, xmax * 1.18 if xmax > 0 else 1)
        ax.set_xlabel("ms per episode (bar: mean, tick: p95; label: mean · share of the episode)")
        ax.set_title("Per-stage breakdown")
        ax.grid(axis="y", visible=False)
        if k > 1:
            from matplotlib.patches import Patch

            ax.legend(handles=[Patch(color=g.color, label=g.label) for g in groups])

    return _render(FULL_WIDTH_IN, 0.9 + 0.3 * rows * max(1.0, k * 0.75), draw)


# --- load ----------------------------------------------------------------------------------


def load_curve(series: Sequence[LoadSeries], title: str | None = None) -> str:
    """Latency percentiles (left) and throughput (right) against concurrency or rate."""
    axis = series[0].axis
    categorical = axis == "level" or any(p.x is None for s in series for p in s.points)
    labels = [p.label for p in series[0].points]
    all_lat = [v for s in series for p in s.points for v in (p.p50_ms, p.p99_ms) if v > 0]
    overlay = len(series) > 1

    def draw(fig: Figure) -> None:
        lat_ax, tp_ax = fig.subplots(1, 2)
        for s in series:
            xs = (
                list(range(len(s.points)))
                if categorical
                else [float(p.x) for p in s.points if p.x is not None]
            )
            ls = "--" if s.dashed else "-"
            tag = f"{s.label} " if overlay else ""
            for attr, color, name in (
                ("p50_ms", PRIMARY, "p50"),
                ("p95_ms", P95, "p95"),
                ("p99_ms", P99, "p99"),
            ):
                ys = [getattr(p, attr) for p in s.points]
                lat_ax.plot(xs, ys, ls, marker="o", ms=4, color=color, label=f"{tag}{name}")
            tp_ax.plot(
                xs,
                [p.throughput_eps for p in s.points],
                ls,
                marker="o",
                ms=4,
                color=s.color,
                label=s.label,
            )
            if not categorical:
                for at, name in s.marks:
                    for ax in (lat_ax, tp_ax):
                        ax.axvline(at, color=s.color if overlay else BAD, ls=":", lw=1.2)
                        ax.annotate(
                            f" {tag}{name}",
                            (at, 1.0),
                            xycoords=("data", "axes fraction"),
                            va="top",
                            fontsize=9,
                            color=s.color if overlay else BAD,
                        )
        xlabel = {"concurrency": "concurrency (episodes in flight)", "rate": "arrival rate (/s)"}
        xs_all = sorted({float(p.x) for s in series for p in s.points if p.x is not None})
        for ax in (lat_ax, tp_ax):
            if categorical:
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, rotation=20 if len(labels) > 6 else 0)
            elif xs_all and xs_all[0] > 0 and xs_all[-1] / xs_all[0] >= 10:
                # Sweeps double or go 1, 5, 10, 50: a log axis spaces them evenly.
                from matplotlib.ticker import FixedLocator, NullLocator

                ax.set_xscale("log")
                ax.xaxis.set_major_locator(FixedLocator(xs_all))
                ax.xaxis.set_minor_locator(NullLocator())
                ax.set_xticklabels([f"{x:g}" for x in xs_all])
            ax.set_xlabel(xlabel.get(axis, "load level"))
        if all_lat:
            _ms_axis(lat_ax, "y", min(all_lat), max(all_lat))
        lat_ax.set_title("Latency under load")
        lat_ax.legend(ncol=2 if overlay else 1, loc="lower right")
        tp_ax.set_title("Throughput under load")
        tp_ax.set_ylabel("episodes / s")
        tp_ax.set_ylim(bottom=0)
        if overlay:
            tp_ax.legend()
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")

    return _render(FULL_WIDTH_IN, 3.9 if title else 3.6, draw)


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

    return _render(FULL_WIDTH_IN, 2.6, draw)


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
        _ms_axis(ax, "y", min(p50) or 1e-9, max(p95))
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.legend()

    return _render(HALF_WIDTH_IN, 3.0, draw)


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

    return _render(FULL_WIDTH_IN, 3.6, draw)


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

    return _render(FULL_WIDTH_IN, 0.9 + 0.26 * len(rows), draw)


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

    return _render(FULL_WIDTH_IN, 0.6 + 2.6 * rows, draw)


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

    return _render(FULL_WIDTH_IN, 0.9 + 0.24 * len(rows), draw)
