"""The one way every command ends: its report to every target asked for, then its exit.

A command checks its targets before it runs and hands its report to :func:`finish` after::

    targets = Targets(fmt=parse_format(output_format), output=output, html=html, quiet=quiet)
    targets.check()                       # a bad -o / --html / --format: exit 2, nothing run
    report = run_something(...)           # the service marks its measuring part with
                                          # ctool.host.stop.measuring(); a signal there
                                          # gives a report with complete: false
    finish(report, targets)               # returns only when no stop signal came
    raise typer.Exit(verdict_code(report))

:func:`finish` writes the JSON report to ``-o`` (atomically), the HTML page to ``--html``
and the report in ``--format`` on stdout, whatever happened. If the run was stopped (SIGINT,
SIGTERM or SIGHUP at any moment, once or several times; see :mod:`ctool.host.stop`), the
report is marked ``complete: false`` when it is partial, one line on stderr says so and
where it went, and the command exits 130, 143 or 129 (128 + the signal's number).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ctool.cli.output import check_targets, emit

if TYPE_CHECKING:
    from ctool.model.schema import Report


@dataclass(frozen=True)
class Targets:
    """Where a command's report goes: ``--format`` on stdout, ``-o`` and ``--html``.

    Relative paths are resolved once, when the targets are made (before the run): a
    pipeline that changes the working directory does not move the report. Messages show
    the paths as the user typed them."""

    fmt: str = "table"
    output: Path | None = None
    html: Path | None = None
    quiet: bool = False
    related: Sequence[Report] = ()
    base_dir: Path | None = None
    where: tuple[Path | None, Path | None] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", (_absolute(self.output), _absolute(self.html)))

    def check(self) -> None:
        """Fail before any work if ``-o`` or ``--html`` cannot be written (one line, exit 2)."""
        check_targets(*self.where)

    def files(self) -> list[str]:
        """The targets that are files, as typed (``-`` is standard output)."""
        return [str(p) for p in (self.output, self.html) if p is not None and str(p)]


def _absolute(path: Path | None) -> Path | None:
    from ctool.model.io import is_stdout

    if path is None or not str(path) or is_stdout(path):
        return path
    return Path(os.path.abspath(path))


def finish(report: Report, targets: Targets, *, interrupted: bool | None = None) -> None:
    """Write ``report`` to every target; exit 130 / 143 / 129 if the run was stopped.

    ``interrupted``: the command's own account of whether its report was cut short (default:
    ``not report.complete``); a report incomplete for another reason (a failed replica)
    passes ``False`` and keeps its own exit code."""
    from ctool.host import stop

    stop.finishing()  # a signal from here on is recorded, never lost in the middle of a write
    cut = (not report.complete) if interrupted is None else interrupted
    output, html = targets.where
    emit(
        report,
        fmt=targets.fmt,
        output=output,
        html=html,
        related=targets.related,
        base_dir=targets.base_dir,
        quiet=targets.quiet,
    )
    if not stop.stopped(complete=not cut):
        return
    what = "partial report" if not report.complete else "report"
    files = targets.files()
    where = f"; {what} written to {' and '.join(files)}" if files else ""
    typer.echo(f"ctool: {stop.described()}{where}", err=True)
    raise typer.Exit(stop.exit_code())
