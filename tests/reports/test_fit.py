"""Readable in an 80-column CI log (issue 25): tables fit, names shorten in the middle,
numbers stay whole, a dropped column is said -- at 80 and 120 columns, every report kind."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from ctool.model.io import load_report
from ctool.reports.fit import FitColumn, FittedTable, fit_cell, shorten
from ctool.reports.registry import render

REPORTS = Path(__file__).resolve().parents[1] / "golden" / "reports"
WIDTHS = (80, 120)


def _draw(renderable: object, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, highlight=False).print(renderable)
    return out.getvalue()


def test_shorten_keeps_the_end_that_names_the_thing() -> None:
    path = "/home/ci/work/project/src/pipeline/kuramoto.py:116"
    assert shorten(path, 26) == "…/pipeline/kuramoto.py:116"
    assert shorten(path, 20) == "…/kuramoto.py:116"
    assert shorten("psutil._pslinux.Process.memory_info", 20).endswith(".memory_info")
    assert len(shorten("psutil._pslinux.Process.memory_info", 20)) == 20
    assert shorten("short", 20) == "short"


def test_a_call_goes_on_its_own_line_under_its_caller() -> None:
    cell = fit_cell("LibPipeline.episode -> sqlite3.Connection.execute", 32)
    assert cell.split("\n") == ["LibPipeline.episode", "  -> sqlite3.Connection.execute"]


def _table() -> FittedTable:
    table = FittedTable(
        columns=[
            FitColumn("function"),
            FitColumn("where"),
            FitColumn("stage", drop_order=1),
            FitColumn("self ms", kind="number", right=True),
            FitColumn("share", kind="number", right=True),
        ],
        table_options={"title": "py-spy: top hotspots"},
    )
    table.add_row(
        ["LibPipeline.episode -> sqlite3.Connection.execute",
         "/srv/ci/checkouts/project/examples/libpipe.py:106", "summarise", "1,234,567.8",
         "61.0%"]
    )  # fmt: skip
    table.add_row(["phi_loop", "/srv/ci/ctool/pipeline/phi.py:134", "MCEA.phi", "0.5", "0.1%"])
    return table


@pytest.mark.parametrize("width", [60, *WIDTHS])
def test_a_table_fits_and_numbers_stay_whole(width: int) -> None:
    text = _draw(_table(), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "1,234,567.8" in text and "61.0%" in text
    if width == 60:
        assert "left out to fit the width: stage" in " ".join(text.split())
    else:
        assert "summarise" in text


def _names(report: object) -> set[str]:
    """Function names and call sites the report carries (what must not break mid-name)."""
    found: set[str] = set()
    for row in getattr(report, "hotspots", []) or []:
        found.update(part for part in re.split(r" -> ", row.function) if part)
    resources = getattr(report, "resources", None)
    for call in getattr(resources, "blocking_calls", None) or []:
        found.add(call.function)
    return {name for name in found if len(name) >= 8}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(p.stem for p in REPORTS.glob("*.json")))
def test_every_report_kind_fits_without_breaking_a_name(name: str, width: int) -> None:
    report = load_report(REPORTS / f"{name}.json")
    text = _draw(render(report, "table"), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, name
    flat = "\n".join(line.rstrip() for line in lines)
    for item in _names(report):
        whole = item in flat
        shortened = any(shorten(item, w) in flat for w in range(6, len(item)))
        assert whole or shortened, f"{item!r} broken in {name} at {width} columns"
