"""`ctool report RUN.json`: render a saved report again (HTML, table, markdown or JSON)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.model.errors import UsageError

if TYPE_CHECKING:
    from ctool.model.schema import Report


class ReportFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


def report_command(
    path: Annotated[str, typer.Argument(metavar="REPORT.json", help="A report ctool wrote.")],
    *,
    html: Annotated[
        str | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write a self-contained HTML page (charts, tables, flame graph) to FILE.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="Print the report to the terminal as a table, markdown or JSON "
            "(default: table, unless --html is given).",
        ),
    ] = None,
) -> None:
    """Render a saved report of any kind (profile, compare, leakcheck, suite).

    A compare report's before/after files are loaded, when still there, for the HTML overlay.
    """
    from ctool.model.related import load_with_related

    if html is not None:
        from ctool.model.io import check_writable

        check_writable(html)
    loaded = load_with_related(path)
    if html is not None:
        from ctool.reports.html import write_html

        write_html(loaded.report, html, related=loaded.related, base_dir=loaded.directory)
        for warning in loaded.warnings:
            typer.echo(f"ctool: warning: {warning}", err=True)
    if fmt is None and html is None:
        fmt = ReportFormat.table
    if fmt is not None:
        _print(loaded.report, fmt)


# The renderers each command uses for its own output: (module, function) per kind and format.
# A table renderer returns a Rich renderable, a markdown one a string.
_RENDERERS: dict[tuple[str, str], tuple[str, str]] = {
    ("profile", "table"): ("ctool.reports.terminal", "render_profile"),
    ("profile", "markdown"): ("ctool.reports.markdown", "profile_markdown"),
    ("compare", "table"): ("ctool.reports.compare_terminal", "render_compare"),
    ("compare", "markdown"): ("ctool.reports.compare_markdown", "render_markdown"),
    ("leakcheck", "table"): ("ctool.reports.leak_view", "render_leakcheck"),
    ("suite", "table"): ("ctool.reports.suite_terminal", "render_suite"),
    ("suite", "markdown"): ("ctool.reports.suite_terminal", "render_suite_markdown"),
}


def _print(report: Report, fmt: ReportFormat) -> None:
    import importlib

    if fmt is ReportFormat.json:
        typer.echo(report.model_dump_json(indent=1))
        return
    where = _RENDERERS.get((report.kind, fmt.value))
    renderer = None
    if where is not None:
        try:
            renderer = getattr(importlib.import_module(where[0]), where[1])
        except (ImportError, AttributeError):
            renderer = None
    if renderer is None:
        raise UsageError(
            f"--format {fmt.value} is not available for {report.kind} reports; "
            "use --format json or --html FILE"
        )
    rendered = renderer(report)
    if isinstance(rendered, str):
        typer.echo(rendered, nl=not rendered.endswith("\n"))
        return
    from ctool.cli.console import make_console

    make_console().print(rendered)
