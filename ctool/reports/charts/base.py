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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ctool.model.format import ms_unit

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


def render_chart(width_in: float, height_in: float, draw: Any) -> str:
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


def wide_range(lo: float, hi: float) -> bool:
    return lo > 0 and hi / lo > 20


def ms_axis(ax: Axes, which: str, lo: float, hi: float) -> None:
    """Label an axis in ms/s; a log scale (ticks at 1, 2, 5 per decade) for wide ranges."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    if wide_range(lo, hi):
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        decades = math.log10(hi / lo)
        subs = (1.0,) if decades > 3.5 else (1.0, 2.0, 5.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: ms_unit(v)))
