"""The "biggest movers" table's cells, the same in every format (terminal, markdown, HTML)."""

from __future__ import annotations

from ctool.model.schema import HotspotMover

MOVER_COLUMNS = ("row", "share before", "share after", "change", "95 % interval", "verdict")
MOVERS_NOTE = (
    "A sampling profiler's rows (caller -> library function [stage]) whose share of the time "
    "in your code moved most: change = share after - share before, in percentage points (ms "
    "per episode beside it, which the machine's speed also moves); the interval is over "
    "slices of each run's samples (rounds, for ab). 'moved' when it excludes 0, else "
    "'noise'. Below the first row, shares, change and interval are of the time without the "
    "first row (shares sum to 1: when one row grows the others' plain shares fall though "
    "their cost held)."
)


def _pct(value: float) -> float:
    """A share as the percent printed (one decimal), so that printed figures add up."""
    return round(100 * value, 1)


def mover_cells(mover: HotspotMover) -> list[str]:
    before, after = _pct(mover.share_before), _pct(mover.share_after)
    change = f"{after - before:+.1f} pts"
    interval = f"[{100 * mover.low:+.1f}, {100 * mover.high:+.1f}]"
    if mover.ms_before is not None and mover.ms_after is not None:
        change += f" ({mover.ms_before:.3g} -> {mover.ms_after:.3g} ms/ep)"
    return [
        mover.row,
        f"{before:.1f} %",
        f"{after:.1f} %",
        change,
        interval,
        "moved" if mover.moved else "noise",
    ]
