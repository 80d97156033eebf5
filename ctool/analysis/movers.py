"""Where time moved: the boundary rows whose share of the user's time rose or fell most.

Each side's sampling profiler carries its rows' shares, and ms per episode, per consecutive
slice of its samples (``ProfilerRun.row_shares`` and ``row_ms_per_episode``, one dict per
slice; per round when a side has several profiled rounds): py-spy fills them, and so may
any sampling backend. A row's move is the difference of its mean share, after minus
before, with a Welch 95 % interval over the slices; a row moved beyond noise when the
interval excludes 0 (see :func:`movers` for the basis of the rows other than the biggest
mover). Every change equals the difference of the two shares shown beside it. Rows are
named without their line (``caller -> library function [stage]``): an edit elsewhere in a
file moves lines, not time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from ctool.model.schema import HotspotMover, ProfileReport

TOP = 10


def sampled_by(reports: Sequence[ProfileReport]) -> list[str]:
    """The profilers that carry row slices in these reports, in order of appearance."""
    names: list[str] = []
    for report in reports:
        for run in report.profilers:
            if run.ok and run.slices[0] and run.name not in names:
                names.append(run.name)
    return names


def row_shares(
    reports: Sequence[ProfileReport], profiler: str, *, ms: bool = False
) -> list[dict[str, float]]:
    """Every slice of every report's rows from ``profiler`` (shares, or ms per episode)."""
    out: list[dict[str, float]] = []
    for report in reports:
        for run in report.profilers:
            if run.name == profiler and run.ok:
                out.extend(run.slices[1 if ms else 0])
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
    name: str,
    b: list[float],
    a: list[float],
    mb: list[float],
    ma: list[float],
    basis: str | None = None,
) -> HotspotMover:
    diff, low, high = welch(b, a)
    share_b, share_a = statistics.fmean(b), statistics.fmean(a)
    return HotspotMover(
        row=name,
        share_before=share_b,
        share_after=share_a,
        change=share_a - share_b,
        low=low,
        high=high,
        moved=low > 0 or high < 0,
        slices_before=len(b),
        slices_after=len(a),
        ms_before=statistics.fmean(mb) if mb else None,
        ms_after=statistics.fmean(ma) if ma else None,
        basis=basis,
    )


def movers(
    before: Sequence[ProfileReport], after: Sequence[ProfileReport], *, top: int = TOP
) -> list[HotspotMover]:
    """The ``top`` rows that moved most, each with its interval (``[]`` unless both sides
    carry at least two slices of one sampling profiler's rows).

    In shares of the user's time, which a machine's changing speed between two runs does not
    move (ms per episode would; they are shown too). Shares sum to 1, so when one row grows
    the others' shares fall though their cost held: the biggest mover is judged on plain
    shares, every other row on its share of the time *without* the biggest mover (its
    ``basis``), and its shares, change and interval are all given on that basis, so that the
    change is the difference of the shares shown.
    """
    common = [name for name in sampled_by(before) if name in sampled_by(after)]
    if not common:
        return []
    profiler = common[0]
    slices_b, slices_a = row_shares(before, profiler), row_shares(after, profiler)
    if len(slices_b) < 2 or len(slices_a) < 2:
        return []
    ms_b = row_shares(before, profiler, ms=True)
    ms_a = row_shares(after, profiler, ms=True)
    names = sorted({name for s in slices_b + slices_a for name in s})

    def column(slices: list[dict[str, float]], name: str) -> list[float]:
        return [s.get(name, 0.0) for s in slices]

    def plain(name: str) -> HotspotMover:
        return _mover(
            name, column(slices_b, name), column(slices_a, name),
            column(ms_b, name), column(ms_a, name),
        )  # fmt: skip

    first = max((plain(name) for name in names), key=lambda r: abs(r.change))
    rest_b, rest_a = _excluding(slices_b, first.row), _excluding(slices_a, first.row)
    rows = [
        _mover(
            name,
            column(rest_b, name),
            column(rest_a, name),
            column(ms_b, name),
            column(ms_a, name),
            basis=first.row,
        )  # fmt: skip
        for name in names
        if name != first.row
    ]
    rows.sort(key=lambda r: abs(r.change), reverse=True)
    return [first, *rows][:top]


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
