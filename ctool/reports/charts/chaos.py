"""The chaos timeline: per window, the experiment's line beside the control's, with the
fault windows shaded (p99 latency, good episodes per second, failed and wrong episodes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ctool.reports.charts.base import BAD, BEFORE, FULL_WIDTH_IN, P95, PRIMARY, render_chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHADE = "#f4c7b0"


@dataclass
class ChaosWindow:
    middle_s: float
    p99_ms: float | None
    control_p99_ms: float | None
    ok_per_s: float
    control_per_s: float
    failed: int
    wrong: int


def chaos_timeline(
    windows: Sequence[ChaosWindow], shaded: Sequence[tuple[float, float, str]]
) -> str | None:
    """Three panels sharing the time axis; ``shaded`` are (start, end, label) of faults."""
    if not windows:
        return None
    x = [w.middle_s for w in windows]

    def line(ax: object, values: list[float | None], **style: object) -> None:
        points = [(a, b) for a, b in zip(x, values, strict=True) if b is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, **style)  # type: ignore[attr-defined]

    def draw(fig: Figure) -> None:
        axes = fig.subplots(3, 1, sharex=True)
        for ax in axes:
            for n, (start, end, _label) in enumerate(shaded):
                ax.axvspan(start, end, color=SHADE, alpha=0.45, lw=0, label=None if n else "fault")
        line(axes[0], [w.p99_ms for w in windows], color=PRIMARY, label="experiment p99")
        line(
            axes[0], [w.control_p99_ms for w in windows], color=BEFORE, ls="--", label="control p99"
        )
        axes[0].set_ylabel("p99 (ms)")
        axes[0].set_ylim(bottom=0)
        axes[0].legend(loc="upper right")
        line(axes[1], [w.ok_per_s for w in windows], color=PRIMARY, label="experiment ok/s")
        line(axes[1], [w.control_per_s for w in windows], color=BEFORE, ls="--", label="control /s")
        axes[1].set_ylabel("episodes/s")
        axes[1].set_ylim(bottom=0)
        axes[1].legend(loc="upper right")
        width = (x[1] - x[0]) * 0.4 if len(x) > 1 else 0.4
        axes[2].bar(
            [v - width / 2 for v in x],
            [w.failed for w in windows],
            width,
            color=BAD,
            label="failed",
        )
        axes[2].bar(
            [v + width / 2 for v in x], [w.wrong for w in windows], width, color=P95, label="wrong"
        )
        axes[2].set_ylabel("episodes")
        axes[2].set_xlabel("time (s)")
        axes[2].legend(loc="upper right")
        axes[0].set_title("Experiment against the control, per window (faults shaded)")

    return render_chart(FULL_WIDTH_IN, 6.6, draw)
