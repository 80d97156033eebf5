"""The "biggest movers" table's cells, the same in every format (terminal, markdown, HTML)."""

from __future__ import annotations

from ctool.model.schema import HotspotMover

MOVER_COLUMNS = ("row", "share before", "share after", "change", "95 % interval", "verdict")
MOVERS_NOTE = (
    "py-spy rows (caller -> library function [stage]) whose share of the time in your code "
    "moved most, after minus before, in percentage points (ms per episode beside it, which "
    "the machine's speed also moves); the interval is over slices of each run's samples "
    "(rounds, for ab). 'moved' when it excludes 0, else 'noise'. Below the first row, change "
    "and interval are of a row's share of the time without the first (shares sum to 1: "
    "when one row grows the others' plain shares fall though their cost held)."
)


def _pts(value: float) -> str:
    return f"{100 * value:+.1f}"


def mover_cells(mover: HotspotMover) -> list[str]:
    change = f"{_pts(mover.change)} pts"
    interval = f"[{_pts(mover.low)}, {_pts(mover.high)}]"
    if mover.ms_before is not None and mover.ms_after is not None:
        change += f" ({mover.ms_before:.3g} -> {mover.ms_after:.3g} ms/ep)"
    return [
        mover.row,
        f"{100 * mover.share_before:.1f} %",
        f"{100 * mover.share_after:.1f} %",
        change,
        interval,
        "moved" if mover.moved else "noise",
    ]
