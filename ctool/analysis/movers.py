"""Where time moved: the boundary rows whose share of the user's time rose or fell most.

Each side's py-spy run carries its rows' shares, and ms per episode, per consecutive slice
of its samples (``metadata["row_shares"]`` and ``["row_ms_per_episode"]``, one dict per
slice; per round when a side has several profiled rounds). A row's move is the difference
of its mean ms per episode (its mean share when a side lacks the former), after minus
before, with a Welch 95 % interval over the slices; a row moved beyond noise when the
interval excludes 0. Rows are named without their line (``caller -> library function [stage]``):
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


def row_shares(reports: Sequence[ProfileReport], key: str = "row_shares") -> list[dict[str, float]]:
    """Every slice of every report's py-spy rows (empty when none carries them)."""
    out: list[dict[str, float]] = []
    for report in reports:
        for run in report.profilers:
            if run.name == PROFILER and run.ok:
                found = run.metadata.get(key)
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
    """The ``top`` rows that moved most, each with its interval (``[]`` unless both sides
    carry at least two slices of py-spy rows).

    Measured in ms per episode when both sides know it: a row whose own cost held does not
    move when another row grows (its *share* would fall); else in share of the user's time.
    """
    slices_b, slices_a = row_shares(before), row_shares(after)
    if len(slices_b) < 2 or len(slices_a) < 2:
        return []
    ms_b, ms_a = row_shares(before, "row_ms_per_episode"), row_shares(after, "row_ms_per_episode")
    in_ms = len(ms_b) >= 2 and len(ms_a) >= 2
    names = sorted({name for s in slices_b + slices_a for name in s})
    rows = []
    for name in names:
        b = [s.get(name, 0.0) for s in slices_b]
        a = [s.get(name, 0.0) for s in slices_a]
        mb = [s.get(name, 0.0) for s in ms_b] if in_ms else []
        ma = [s.get(name, 0.0) for s in ms_a] if in_ms else []
        diff, low, high = welch(mb, ma) if in_ms else welch(b, a)
        rows.append(
            HotspotMover(
                row=name,
                share_before=statistics.fmean(b),
                share_after=statistics.fmean(a),
                change=diff,
                low=low,
                high=high,
                moved=low > 0 or high < 0,
                slices_before=len(mb or b),
                slices_after=len(ma or a),
                ms_before=statistics.fmean(mb) if in_ms else None,
                ms_after=statistics.fmean(ma) if in_ms else None,
                unit="ms" if in_ms else "share",
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
