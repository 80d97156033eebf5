"""Stage bars and the load curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ctool.model.format import ms_unit
from ctool.reports.charts.base import (
    BAD,
    FULL_WIDTH_IN,
    P95,
    P99,
    PRIMARY,
    LoadSeries,
    StageGroup,
    ms_axis,
    render_chart,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from matplotlib.figure import Figure

    FloatArray = npt.NDArray[np.float64]


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

    return render_chart(FULL_WIDTH_IN, 0.9 + 0.3 * rows * max(1.0, k * 0.75), draw)


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
            ms_axis(lat_ax, "y", min(all_lat), max(all_lat))
        lat_ax.set_title("Latency under load")
        lat_ax.legend(ncol=2 if overlay else 1, loc="lower right")
        tp_ax.set_title("Throughput under load")
        tp_ax.set_ylabel("episodes / s")
        tp_ax.set_ylim(bottom=0)
        if overlay:
            tp_ax.legend()
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")

    return render_chart(FULL_WIDTH_IN, 3.9 if title else 3.6, draw)
