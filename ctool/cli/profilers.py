"""`ctool profilers`: the profiler backends found, and whether each can run here."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def profilers_command(
    *,
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="Output format: table or json.")
    ] = ListFormat.table,
) -> None:
    """List the profiler backends found, and whether each can run here (and why not).

    Built-in and third-party backends, with their package. Choose them with
    `ctool profile --profiler NAME`.
    """
    from dataclasses import asdict

    from rich.table import Table
    from rich.text import Text

    from ctool.cli.console import make_console
    from ctool.profilers.registry import describe

    statuses = describe()
    console = make_console()
    if fmt is ListFormat.json:
        console.print_json(json.dumps([asdict(status) for status in statuses]))
        return
    table = Table(title="profiler backends (entry points: ctool.profilers)", title_justify="left")
    for header in ("name", "package", "runs here", "description / why not"):
        table.add_column(header)
    for status in statuses:
        cells = (
            status.name,
            status.source,
            "yes" if status.ok else "no",
            status.description if status.ok else status.reason,
        )
        table.add_row(*(Text(cell) for cell in cells))  # plugin text is data, not markup
    console.print(table)
