"""Where time moved: the boundary rows whose share of the user's time rose or fell most.

Each side's py-spy run carries its rows' shares, and ms per episode, per consecutive slice
of its samples (``metadata["row_shares"]`` and ``["row_ms_per_episode"]``, one dict per
slice; per round when a side has several profiled rounds). A row's move is the difference
of its mean share, after minus before, with a Welch 95 % interval over the slices; a row
moved beyond noise when the interval excludes 0 (see :func:`movers` for how the rows
other than the biggest mover are judged). Rows are named without their line
(``caller -> library function [stage]``): an edit elsewhere in a file moves lines, not
time.
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


def _excluding(slices: list[dict[str, float]], name: str) -> list[dict[str, float]]:
    """Each slice's shares renormalised without ``name``."""
    out = []
    for shares in slices:
        rest = 1.0 - shares.get(name, 0.0)
        out.append({k: v / rest for k, v in shares.items() if k != name} if rest > 0 else {})
    return out


def _mover(
    name: str, b: list[float], a: list[float], mb: list[float], ma: list[float]
) -> HotspotMover:
    diff, low, high = welch(b, a)
    return HotspotMover(
        row=name,
        share_before=statistics.fmean(b),
        share_after=statistics.fmean(a),
        change=diff,
        low=low,
        high=high,
        moved=low > 0 or high < 0,
        slices_before=len(b),
        slices_after=len(a),
        ms_before=statistics.fmean(mb) if mb else None,
        ms_after=statistics.fmean(ma) if ma else None,
    )


def movers(
    before: Sequence[ProfileReport], after: Sequence[ProfileReport], *, top: int = TOP
) -> list[HotspotMover]:
    """The ``top`` rows that moved most, each with its interval (``[]`` unless both sides
    carry at least two slices of py-spy rows).

    In shares of the user's time, which a machine's changing speed between two runs does not
    move (ms per episode would; they are shown too). Shares sum to 1, so when one row grows
    the others' shares fall though their cost held: the biggest mover is judged on plain
    shares, every other row on its share of the time *without* the biggest mover, and it
    moved only if that moved too. Their ``change``, ``low`` and ``high`` are of that share.
    """
    slices_b, slices_a = row_shares(before), row_shares(after)
    if len(slices_b) < 2 or len(slices_a) < 2:
        return []
    ms_b, ms_a = row_shares(before, "row_ms_per_episode"), row_shares(after, "row_ms_per_episode")
    names = sorted({name for s in slices_b + slices_a for name in s})

    def column(slices: list[dict[str, float]], name: str) -> list[float]:
        return [s.get(name, 0.0) for s in slices]

    plain = {
        name: _mover(
            name,
            column(slices_b, name),
            column(slices_a, name),
            column(ms_b, name),
            column(ms_a, name),
        )
        for name in names
    }
    first = max(plain.values(), key=lambda r: abs(r.change))
    rest_b, rest_a = _excluding(slices_b, first.row), _excluding(slices_a, first.row)
    rows = [first]
    for name, row in plain.items():
        if name == first.row:
            continue
        row.change, row.low, row.high = welch(column(rest_b, name), column(rest_a, name))
        row.moved = row.low > 0 or row.high < 0
        rows.append(row)
    rows[1:] = sorted(rows[1:], key=lambda r: abs(r.change), reverse=True)
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
