"""Cells and generic tables of the HTML view model, and helpers every page builder uses.

The text of every cell comes from :mod:`ctool.model.format`; this module only decides which
function, the CSS class and the sort key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ctool.model.format import ms_unit, pct, short_path, significant
from ctool.model.schema import Report
from ctool.reports.html.view import Card, Cell, Table

MAX_TABLE_ROWS = 200
LONG_VALUE = 120
"""A list or mapping whose text is longer than this collapses into a "details" cell."""
MISSING = "–"


def pct_text(value: float | None, digits: int = 1) -> str:
    """:func:`ctool.model.format.pct` with the page's mark for a missing value."""
    return pct(value, digits, missing=MISSING)


def ms_cell(value: float | None) -> Cell:
    if value is None:
        return Cell(MISSING, "num")
    return Cell(ms_unit(value), "num", sort=value)


def num_cell(value: float | None, text: str | None = None) -> Cell:
    return Cell(significant(value) if text is None else text, "num", sort=value)


def share_bar(share: float) -> float:
    """A share clamped to the 0..1 a cell's bar can draw."""
    return max(0.0, min(1.0, share))


def text(value: Any) -> str:
    """Any value from a report as cell text: numbers compact, structures as JSON."""
    if value is None:
        return MISSING
    if isinstance(value, float | int) and not isinstance(value, bool):
        return significant(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as dotted keys, in insertion order."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.extend(flatten(value, name + "."))
        else:
            out.append((name, value))
    return out


def kv_table(pairs: Iterable[tuple[str, Any]], caption: str | None = None) -> Table:
    rows = []
    for key, value in pairs:
        shown = text(value)
        if len(shown) > LONG_VALUE and isinstance(value, list | dict):
            what = f"{len(value)} entries" if isinstance(value, list) else f"{len(value)} keys"
            full = json.dumps(value, indent=1, default=str, sort_keys=True)
            rows.append([Cell(key, "key"), Cell(what, "mono", details=full)])
        else:
            rows.append([Cell(key, "key"), Cell(shown, "mono wrap")])
    return Table([], rows, caption=caption, kv=True)


def kv_tables(pairs: Sequence[tuple[str, Any]], per_table: int = 12) -> list[Table]:
    """A long name/value list as side-by-side tables, read down then across."""
    if len(pairs) <= per_table:
        return [kv_table(pairs)]
    half = math.ceil(len(pairs) / 2)
    return [kv_table(pairs[:half]), kv_table(pairs[half:])]


def where(file: str, line: int | None, details: str | None = None) -> Cell:
    """A source location: the short path shown, the full one as the cell's title."""
    suffix = f":{line}" if line is not None else ""
    return Cell(
        short_path(file) + suffix, "mono path", title=file + suffix, details=details, path=True
    )


def generic_table(
    records: Sequence[Mapping[str, Any]], caption: str | None = None, limit: int = MAX_TABLE_ROWS
) -> Table:
    """A table of free-form records: the union of their keys as columns."""
    columns: list[str] = []
    for r in records:
        columns.extend(k for k in r if k not in columns)
    numeric = [all(isinstance(r.get(c), int | float | None) for r in records) for c in columns]
    rows = []
    for r in records[:limit]:
        row = []
        for c, is_num in zip(columns, numeric, strict=True):
            v = r.get(c)
            is_value = isinstance(v, int | float) and not isinstance(v, bool)
            row.append(Cell(text(v), "num" if is_num else "wrap", sort=v if is_value else None))
        rows.append(row)
    note = f"{len(records) - limit} more rows not shown" if len(records) > limit else None
    return Table(columns, rows, caption=caption, numeric=numeric, note=note)


def opt(model: Any, name: str, default: Any = None) -> Any:
    """An optional field that a newer writer may have added (the schema keeps extras)."""
    value = getattr(model, name, None)
    return default if value is None else value


def report_warnings(report: Report) -> list[str]:
    value = opt(report, "warnings", [])
    return [str(w) for w in value] if isinstance(value, list) else []


def card_ms(label: str, value: float, note: str = "") -> Card:
    return Card(label, ms_unit(value), note)
