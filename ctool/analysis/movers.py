"""Where time moved: the boundary rows whose share of the user's time rose or fell most.

Each side's py-spy run carries its rows' shares per consecutive slice of its samples
(``metadata["row_shares"]``, one dict per slice; per round when a side has several
profiled rounds). A row's move is the difference of its mean share, after minus before,
with a Welch 95 % interval over the slices; a row moved beyond noise when the interval
excludes 0. Rows are named without their line (``caller -> library function [stage]``):
an edit elsewhere in a file moves lines, not time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from ctool.model.schema import HotspotMover, ProfileReport

PROFILER = "pyspy"
TOP = 10


def row_shares(reports: Sequence[ProfileReport]) -> list[dict[str, float]]:
    """Every slice of every report's py-spy rows (empty when none carries them)."""
    out: list[dict[str, float]] = []
    for report in reports:
        for run in report.profilers:
            if run.name == PROFILER and run.ok:
                found = run.metadata.get("row_shares")
                if isinstance(found, list):
                    out.extend(s for s in found if isinstance(s, dict))
    return out


def _t95(df: float) -> float:
    """Student's t quantile at 0.975 (scipy when present; a close approximation if not)."""
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, df))
    except ImportError:  # pragma: no cover - scipy is a dependency
        return 1.96 + 2.4 / max(df, 1.0)


def welch(before: Sequence[float], after: Sequence[float]) -> tuple[float, float, float]:
    """(difference of means, low, high): a 95 % Welch interval of after - before."""
    diff = statistics.fmean(after) - statistics.fmean(before)
    var_b = statistics.variance(before) / len(before) if len(before) > 1 else 0.0
    var_a = statistics.variance(after) / len(after) if len(after) > 1 else 0.0
    se = math.sqrt(var_b + var_a)
    if se == 0:
        return diff, diff, diff
    num = (var_b + var_a) ** 2
    den = (var_b**2) / max(len(before) - 1, 1) + (var_a**2) / max(len(after) - 1, 1)
    half = _t95(num / den if den > 0 else 1.0) * se
    return diff, diff - half, diff + half


def movers(
    before: Sequence[ProfileReport], after: Sequence[ProfileReport], *, top: int = TOP
) -> list[HotspotMover]:
    """The ``top`` rows whose share moved most, each with its interval (``[]`` unless both
    sides carry at least two slices of py-spy rows)."""
    slices_b, slices_a = row_shares(before), row_shares(after)
    if len(slices_b) < 2 or len(slices_a) < 2:
        return []
    names = sorted({name for s in slices_b + slices_a for name in s})
    rows = []
    for name in names:
        b = [s.get(name, 0.0) for s in slices_b]
        a = [s.get(name, 0.0) for s in slices_a]
        diff, low, high = welch(b, a)
        rows.append(
            HotspotMover(
                row=name,
                share_before=statistics.fmean(b),
                share_after=statistics.fmean(a),
                change=diff,
                low=low,
                high=high,
                moved=low > 0 or high < 0,
                slices_before=len(b),
                slices_after=len(a),
            )
        )
    rows.sort(key=lambda r: abs(r.change), reverse=True)
    return rows[:top]


def where_time_moved(
    before: Sequence[ProfileReport], after: Sequence[ProfileReport]
) -> dict[str, Any]:
    """The compare report's movers and the two sides' folded stacks (for the differential
    flame graph): the fields ``compare`` adds when both sides carry py-spy stacks."""
    return {
        "movers": movers(before, after),
        "flame_before": _folded(before),
        "flame_after": _folded(after),
    }


def _folded(reports: Sequence[ProfileReport]) -> str | None:
    for report in reports:
        found = report.artifacts.get("pyspy_folded")
        if found:
            return found
    return None
