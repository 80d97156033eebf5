"""`ctool report RUN.json`: render a saved report again (HTML, table, markdown or JSON)."""

from __future__ import annotations

from typing import Annotated

import typer

from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    check_targets,
    emit,
    parse_format,
    warning_line,
)


def report_command(
    path: Annotated[str, typer.Argument(metavar="REPORT.json", help="A report ctool wrote.")],
    *,
    html: HtmlOption = None,
    output_format: FormatOption = None,
) -> None:
    """Render a saved report of any kind (profile, compare, leakcheck, suite).

    Prints it as a table (default, unless --html is given), markdown or JSON. A compare
    report's before/after files are loaded, when still there, for the HTML overlay.
    """
    from ctool.model.related import load_with_related

    fmt = parse_format(output_format)
    check_targets(html=html)
    loaded = load_with_related(path)
    quiet = output_format is None and html is not None
    emit(
        loaded.report,
        fmt=fmt,
        html=html,
        related=loaded.related,
        base_dir=loaded.directory,
        quiet=quiet,
    )
    if html is not None:
        for warning in loaded.warnings:
            typer.echo(warning_line(warning), err=True)
