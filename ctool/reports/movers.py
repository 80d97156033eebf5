"""The "biggest movers" table's cells, the same in every format (terminal, markdown, HTML)."""

from __future__ import annotations

from ctool.model.schema import HotspotMover

MOVER_COLUMNS = ("row", "share before", "share after", "change", "95 % interval", "verdict")
MOVERS_NOTE = (
    "py-spy rows (caller -> library function [stage]) that moved most, after minus before: "
    "in ms per episode (in percentage points of the time in your code when a run does not "
    "know its episodes); the interval is over slices of each run's samples (rounds, for "
    "ab). 'moved' when it excludes 0, else 'noise'."
)


def _pts(value: float) -> str:
    return f"{100 * value:+.1f}"


def mover_cells(mover: HotspotMover) -> list[str]:
    if mover.unit == "ms":
        change = f"{mover.change:+.3g} ms/ep"
        interval = f"[{mover.low:+.3g}, {mover.high:+.3g}]"
    else:
        change = f"{_pts(mover.change)} pts"
        interval = f"[{_pts(mover.low)}, {_pts(mover.high)}]"
    return [
        mover.row,
        f"{100 * mover.share_before:.1f} %",
        f"{100 * mover.share_after:.1f} %",
        change,
        interval,
        "moved" if mover.moved else "noise",
    ]
