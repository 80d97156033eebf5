"""The bottleneck table: a profiler's top functions (or lines, or allocation sites).

Rows arrive ranked from the backends (``ProfileReport.hotspots``); one table per profiler,
because shares are per profiler (a share of sampled time is not a share of allocated
bytes). :func:`bottleneck_table` decides the columns and the text of every cell (pure, for
any renderer: the terminal, markdown); :func:`hotspots_table` renders one as a Rich table.
The CLI owns the Console and prints what these return.

Columns follow what the rows carry: time (cProfile, py-spy, third-party backends), lines
(line_profiler: the source line), bytes (tracemalloc) or MiB increments (memory_profiler).
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from ctool.model.format import count, ms_fixed, pct, short_path, size_or_dash
from ctool.model.schema import Hotspot, ProfilerRun
from ctool.reports.fit import FitColumn, FittedTable

DEFAULT_TOP = 10
_SITE = tuple(
    sorted(
        {sysconfig.get_paths()[key] + os.sep for key in ("purelib", "platlib")}
        | {os.path.realpath(sysconfig.get_paths()[key]) + os.sep for key in ("purelib", "platlib")}
    )
)


DISPLAY_NAMES = {
    "cprofile": "cProfile",
    "pyspy": "py-spy",
    "line": "line_profiler",
    "memory": "memory_profiler",
}
"""How the built-in backends' tools spell their own names."""


def where(row: Hotspot) -> str:
    if row.file.startswith("~") or row.line <= 0:
        return short_path(row.file) if not row.file.startswith("~") else "(C)"
    return f"{short_path(row.file)}:{row.line}"


def _mib(value: Any) -> str:
    return f"{value:+,.2f}" if isinstance(value, (int, float)) else "-"


def _extra(key: str, fmt: Callable[[Any], str]) -> Callable[[Hotspot], str]:
    return lambda row: fmt(row.extra.get(key))


Column = tuple[str, Callable[[Hotspot], str], bool]
"""Header, cell formatter, right-aligned."""

_TIME: list[Column] = [
    ("calls", lambda r: count(r.calls), True),
    ("self ms", lambda r: ms_fixed(r.self_ms), True),
    ("cum ms", lambda r: ms_fixed(r.cumulative_ms), True),
]
_LINES: list[Column] = [
    ("hits", lambda r: count(r.calls), True),
    ("time ms", lambda r: ms_fixed(r.self_ms), True),
    ("µs/hit", _extra("per_hit_us", lambda v: ms_fixed(v) if v is not None else "-"), True),
]
_ALLOC: list[Column] = [
    ("blocks", _extra("count", lambda v: count(v)), True),
    ("in flight", _extra("size_bytes", size_or_dash), True),
    ("retained", _extra("retained_bytes", size_or_dash), True),
]
_MEMORY: list[Column] = [
    ("runs", lambda r: count(r.calls), True),
    ("increment MiB", _extra("increment_mib", _mib), True),
    ("usage MiB", _extra("mem_usage_mib", lambda v: f"{v:,.1f}" if v is not None else "-"), True),
]


def columns_for(rows: Sequence[Hotspot]) -> list[Column]:
    """The measure columns that fit what these rows carry."""
    if any("increment_mib" in row.extra for row in rows):
        return _MEMORY
    if any("size_bytes" in row.extra for row in rows):
        return _ALLOC
    if any("source" in row.extra for row in rows):
        return _LINES
    return _TIME


def profilers_in(hotspots: Sequence[Hotspot]) -> list[str]:
    return list(dict.fromkeys(row.profiler for row in hotspots))


@dataclass
class BottleneckTable:
    """One profiler's rows as text cells: what every renderer (terminal, markdown) shows."""

    title: str
    columns: list[tuple[str, bool]]
    """(header, right-aligned)."""
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def bottleneck_table(
    hotspots: Sequence[Hotspot],
    profiler: str,
    *,
    top: int = DEFAULT_TOP,
    run: ProfilerRun | None = None,
    artifact: str | None = None,
) -> BottleneckTable:
    """One profiler's top ``top`` rows, with its overhead, failure and artifact as notes."""
    rows = [row for row in hotspots if row.profiler == profiler][:top]
    measure = columns_for(rows)
    columns = [("#", True), ("function", False), ("where", False), ("stage", False)]
    columns += [(header, right) for header, _, right in measure]
    columns.append(("share", True))
    if measure is _LINES:
        columns.append(("source", False))
    label = DISPLAY_NAMES.get(profiler, profiler)
    table = BottleneckTable(f"{label}: top {len(rows)} hotspots", columns)
    for rank, row in enumerate(rows, start=1):
        cells = [str(rank), row.function, where(row), row.stage or "-"]
        cells += [fmt(row) for _, fmt, _ in measure]
        cells.append(pct(row.share))
        if measure is _LINES:
            cells.append(str(row.extra.get("source", "")))
        table.rows.append(cells)
    if run is not None and run.overhead_ratio is not None:
        table.notes.append(f"overhead {run.overhead_label} episode time (calibrated)")
    if run is not None and not run.ok:
        table.notes.append(f"failed: {run.reason}")
    if artifact:
        table.notes.append(f"artifact: {short_path(artifact)}")
    return table


def bottleneck_tables(
    hotspots: Sequence[Hotspot],
    *,
    top: int = DEFAULT_TOP,
    runs: Sequence[ProfilerRun] = (),
    artifacts: dict[str, str] | None = None,
) -> list[BottleneckTable]:
    """One table per profiler that produced rows, in the order they appear."""
    by_name = {run.name: run for run in runs}
    artifacts = artifacts or {}
    tables = []
    for profiler in profilers_in(hotspots):
        owned = [path for name, path in artifacts.items() if name.startswith(profiler)]
        artifact = owned[0] if owned else None
        run = by_name.get(profiler)
        tables.append(bottleneck_table(hotspots, profiler, top=top, run=run, artifact=artifact))
    return tables


def render_bottleneck(table: BottleneckTable) -> FittedTable:
    """A :class:`BottleneckTable` that fits the console's width: numbers whole, names and
    paths shortened in the middle, the stage column dropped last (with a note)."""
    fitted = FittedTable(
        columns=[
            FitColumn(
                header,
                kind="number" if right else "text" if header == "source" else "name",
                right=right,
                drop_order=1 if header == "stage" else None,
            )
            for header, right in table.columns
        ],
        table_options={
            "title": table.title,
            "title_justify": "left",
            "caption": "; ".join(table.notes) or None,
            "caption_justify": "left",
        },
    )
    for cells in table.rows:
        fitted.add_row(cells)
    return fitted


def hotspots_table(
    hotspots: Sequence[Hotspot],
    profiler: str,
    *,
    top: int = DEFAULT_TOP,
    run: ProfilerRun | None = None,
    artifact: str | None = None,
) -> FittedTable:
    """One profiler's bottleneck table, rendered."""
    return render_bottleneck(
        bottleneck_table(hotspots, profiler, top=top, run=run, artifact=artifact)
    )


def hotspot_tables(
    hotspots: Sequence[Hotspot],
    *,
    top: int = DEFAULT_TOP,
    runs: Sequence[ProfilerRun] = (),
    artifacts: dict[str, str] | None = None,
) -> list[FittedTable]:
    """One rendered table per profiler that produced rows, in the order they appear."""
    tables = bottleneck_tables(hotspots, top=top, runs=runs, artifacts=artifacts)
    return [render_bottleneck(table) for table in tables]


def profilers_table(runs: Sequence[ProfilerRun], artifacts: dict[str, str] | None = None) -> Table:
    """One line per profiler of the run: ok or why not, overhead, files, and its note."""
    artifacts = artifacts or {}
    table = Table(title="profilers", title_justify="left")
    for header in ("profiler", "status", "overhead", "artifacts", "note"):
        table.add_column(header, justify="right" if header == "overhead" else "left")
    for run in runs:
        files = [short_path(path) for name, path in artifacts.items() if name.startswith(run.name)]
        overhead = run.overhead_label
        note = str(run.metadata.get("note", "")) if run.ok else (run.reason or "")
        cells = (run.name, "ok" if run.ok else "failed", overhead, "\n".join(files), note)
        table.add_row(*(Text(cell) for cell in cells))
    return table
