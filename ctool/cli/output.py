"""The one output path of every command: ``--format``, ``-o`` and ``--html``.

Each command checks its targets before it runs (:func:`check_targets`: a bad format, an
unwritable path or a missing HTML engine fails in one line before any work is done) and
hands its report to :func:`emit` after: the JSON report to ``-o`` (atomically), the HTML page
to ``--html``, and the report in the chosen format on stdout, through the renderer registry
(:mod:`ctool.reports.registry`). Exit codes stay with the commands: they know their verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.model.errors import UsageError

if TYPE_CHECKING:
    from ctool.model.schema import Report

FORMATS = ("table", "json", "markdown")
"""Kept equal to ``ctool.reports.registry.FORMATS`` (a test checks) without importing it."""

FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="table|json|markdown",
        help="Output on stdout \\[default: table].",
        show_default=False,
        rich_help_panel="Output",
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the JSON report here.",
        rich_help_panel="Output",
    ),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Also write an HTML report here.", rich_help_panel="Output"),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print nothing but errors.", rich_help_panel="Output"),
]


def parse_format(value: str | None, default: str | None = None) -> str:
    """The ``--format`` value, checked: table, json or markdown."""
    fmt = (value or default or "table").strip().lower()
    if fmt not in FORMATS:
        shown = value if value is not None else default
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {shown!r}")
    return fmt


def check_targets(output: str | Path | None = None, html: str | Path | None = None) -> None:
    """Fail now, before any work, if ``-o`` or ``--html`` cannot be written.

    ``-`` is standard output; both at once (``-o - --html -``) is a usage error. A target that
    is not a regular file (a device, a FIFO) is refused (see :mod:`ctool.model.io`).
    """
    from ctool.model.io import check_writable, is_stdout

    if is_stdout(output) and is_stdout(html):
        raise UsageError("-o - and --html - both write to standard output; choose one")
    for path in (output, html):
        if path is not None and str(path):
            check_writable(path)
    if html is not None and str(html):
        html_writer()


def html_writer() -> Callable[..., None]:
    """``ctool.reports.html.write_html``, or a one-line usage error saying why it is missing."""
    from ctool.cli.optional import html_writer as load

    return load()


def emit(
    report: Report,
    *,
    fmt: str,
    output: str | Path | None = None,
    html: str | Path | None = None,
    related: Sequence[Report] = (),
    base_dir: Path | None = None,
    quiet: bool = False,
) -> None:
    """Write ``-o`` and ``--html``, then print ``report`` in ``fmt`` (unless ``quiet``).

    When ``-o -`` or ``--html -`` puts the report on standard output, the screen output goes
    to standard error instead: stdout holds one document a program can read.
    """
    from ctool.model.io import is_stdout, write_report

    if output is not None and str(output):
        write_report(report, output)
    if html is not None and str(html):
        write_page(report, html, related=related, base_dir=base_dir)
    if not quiet:
        show(report, fmt, stderr=is_stdout(output) or is_stdout(html))


def write_page(
    report: Report, html: str | Path, *, related: Sequence[Report], base_dir: Path | None
) -> None:
    """The HTML page. What the drawing library says while drawing the charts (a glyph a
    full-width stage name needs is not in the font, a very long name leaves the plot no
    room) is about pictures, not the run: it becomes one ``ctool: warning`` line, never a
    Python warning with a source line."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        html_writer()(report, html, related=related, base_dir=base_dir)
    if caught:
        first = " ".join(str(caught[0].message).split())
        more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
        typer.echo(warning_line(f"charts of {html}: {first[:120]}{more}"), err=True)


def show(report: Report, fmt: str, *, stderr: bool = False) -> None:
    """Print ``report`` on stdout (or stderr) in ``fmt`` through the renderer registry.

    A stream that cannot be written (file descriptor 1 closed by the pipeline, a reader
    gone) is one warning on stderr: the files asked for are already written."""
    from ctool.reports.registry import renderer_for

    function = renderer_for(report.kind, fmt)
    if function is None:
        raise UsageError(f"--format {fmt} is not available for {report.kind} reports")
    rendered = function(report)
    try:
        if isinstance(rendered, str):
            _echo(rendered, stderr=stderr)
            return
        from ctool.cli.console import make_console

        make_console(stderr=stderr).print(rendered)
    except OSError as exc:
        _stream_lost(exc, stderr=stderr)


def _stream_lost(exc: OSError, *, stderr: bool) -> None:
    """Stop writing to a stream that failed: it is pointed at /dev/null (so Python's flush
    at exit cannot fail again) and, if it was stdout, stderr says why nothing was shown."""
    import os
    import sys

    name = "stderr" if stderr else "stdout"
    setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the process
    if not stderr:
        reason = exc.strerror or type(exc).__name__
        typer.echo(f"ctool: warning: cannot write to standard output ({reason})", err=True)


def _echo(text: str, *, stderr: bool) -> None:
    """Text on a stream that may not take every character (a C locale): escaped, not a crash."""
    try:
        typer.echo(text, nl=not text.endswith("\n"), err=stderr)
    except UnicodeEncodeError:
        safe = text.encode("ascii", "backslashreplace").decode("ascii")
        typer.echo(safe, nl=not safe.endswith("\n"), err=stderr)


def warning_line(message: str) -> str:
    """``ctool: warning: ...`` for stderr, the message (often a pipeline's text) made safe."""
    from ctool.model.text import safe_text

    return f"ctool: warning: {safe_text(message, one_line=True)}"
