"""`ctool history add|show|check`: the history store, its series and change points
(docs/history.md); and the ``--history`` option that profile and ab share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli.console import make_console
from ctool.model.errors import EXIT_VERDICT, UsageError

if TYPE_CHECKING:
    from ctool.history.series import Series
    from ctool.model.schema import Report

HistoryOption = Annotated[
    str | None,
    typer.Option(
        "--history",
        metavar="PATH|DSN",
        help="Add the run to this history store: an SQLite file (e.g. .ctool/history.db) or "
        "postgresql://... (docs/history.md).",
        rich_help_panel="Output",
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--history",
        metavar="PATH|DSN",
        help="The store: an SQLite file or postgresql://... \\[default: .ctool/history.db at "
        "the git root].",
        show_default=False,
    ),
]
MetricOption = Annotated[
    list[str] | None,
    typer.Option("--metric", "-m", metavar="GLOB", help="Only these metrics (repeatable)."),
]
AlphaOption = Annotated[
    float, typer.Option(help="Significance of a change point (Welch's t-test).")
]
MinChangeOption = Annotated[float, typer.Option(help="Smallest change point reported, in percent.")]


def record_history(report: Report, target: str | None, source: str) -> None:
    """``--history``: add a complete report of this checkout's commit to the store."""
    if target is None or not report.complete:
        return
    from ctool.history.gitinfo import commit_info
    from ctool.history.record import record_from_report
    from ctool.history.store import open_store

    record = record_from_report(report, commit_info(Path.cwd()), source=source)
    with open_store(target) as store:
        store.add([record])
    make_console(stderr=True).print(f"history: added to {store.where}")


def _add(reports: list[Path], history: str | None, commit: str, keep_samples: bool) -> None:
    """Add reports (profile or ab) as measured at ``commit`` of this checkout."""
    from ctool.history.gitinfo import commit_info, resolve
    from ctool.history.record import record_from_report
    from ctool.history.store import open_store
    from ctool.model.io import load_report

    if not reports:
        raise UsageError("history add expects one or more REPORT.json files")
    cwd = Path.cwd()
    info = commit_info(cwd, commit if commit == "HEAD" else resolve(cwd, commit))
    records = []
    for path in reports:
        report = load_report(path)
        if report.kind not in ("profile", "compare"):
            raise UsageError(f"{path}: a {report.kind} report has no history metrics")
        records.append(
            record_from_report(
                report,
                info,
                source="add",
                report_ref=str(path.resolve()),
                keep_samples=keep_samples,
            )  # fmt: skip
        )
    with open_store(history) as store:
        store.add(records)
        typer.echo(f"added {len(records)} record(s) at {info.commit[:12] or '(no commit)'} "
                   f"to {store.where}")  # fmt: skip


def _series(
    history: str | None, metric: list[str] | None, alpha: float, min_change: float
) -> list[Series]:
    from ctool.history.series import load_series
    from ctool.history.store import open_store

    if not 0 < alpha < 1:
        raise UsageError("--alpha must be between 0 and 1")
    if min_change < 0:
        raise UsageError("--min-change must not be negative")
    with open_store(history) as store:
        return load_series(store, metrics=metric or (), alpha=alpha, min_magnitude=min_change / 100)


def _show(series: list[Series], alpha: float, html: Path | None, url: str, as_json: bool) -> None:
    """A table per pipeline, settings and machine (or JSON); the HTML trend page."""
    import json

    from ctool.history import views

    if html is not None:
        from ctool.model.io import atomic_write_text

        atomic_write_text(html, views.html_page(series, alpha, url))
    if as_json:
        typer.echo(json.dumps(views.as_json(series, alpha), indent=1))
        return
    make_console().print(views.table(series, alpha))


def _check(series: list[Series], threshold: float, recent: int) -> None:
    """Exit 1 when one of the newest commits holds a regression beyond the threshold."""
    from ctool.history import views
    from ctool.history.check import regressions

    found = regressions(series, threshold=threshold / 100, recent=recent)
    for line in views.regression_lines(found):
        typer.echo(line)
    if found:
        raise typer.Exit(EXIT_VERDICT)
    typer.echo(f"no regression beyond {threshold:g}% in the newest {recent} commits of "
               f"{len(series)} series")  # fmt: skip


ACTIONS = ("add", "show", "check")


def history_command(
    action: Annotated[str, typer.Argument(metavar="add|show|check", show_default=False)],
    reports: Annotated[
        list[Path] | None, typer.Argument(metavar="[REPORT.json...]", show_default=False)
    ] = None,
    *,
    history: StoreOption = None,
    metric: MetricOption = None,
    alpha: AlphaOption = 0.001,
    min_change: MinChangeOption = 1.0,
    html: Annotated[
        Path | None, typer.Option(metavar="FILE", help="show: write the HTML trend page here.")
    ] = None,
    commit_url: Annotated[
        str,
        typer.Option(help="show: a point's commit link, e.g. https://host/repo/commit/{commit}."),
    ] = "#{commit}",
    json_out: Annotated[bool, typer.Option("--json", help="show: print JSON instead.")] = False,
    threshold: Annotated[float, typer.Option(help="check: smallest regression, in percent.")] = 5.0,
    recent: Annotated[
        int, typer.Option(help="check: how many of the newest commits of each series.")
    ] = 5,
    commit: Annotated[
        str, typer.Option(help="add: the commit the reports measured (a git revision).")
    ] = "HEAD",
    no_samples: Annotated[
        bool, typer.Option("--no-samples", help="add: keep the file's path, not samples.")
    ] = False,
) -> None:
    """The history of measurements, commit after commit: add, show, check.

    'add REPORT.json...' records profile or ab reports at --commit of this checkout;
    'show' prints each series (one metric of one pipeline, settings and machine) with a
    sparkline and its change points (--html draws the trend); 'check' exits 1 when one of
    the newest --recent commits holds a regression beyond --threshold, naming its commit
    range (docs/history.md).
    """
    if action not in ACTIONS:
        raise UsageError(f"history expects add, show or check, got {action!r}")
    if reports and action != "add":
        raise UsageError(f"history {action} takes no report files")
    if action == "add":
        _add(list(reports or []), history, commit, not no_samples)
        return
    if "{commit}" not in commit_url:
        raise UsageError("--commit-url must contain {commit}")
    if recent < 1:
        raise UsageError("--recent must be at least 1")
    minimum = threshold if action == "check" else min_change
    series = _series(history, metric, alpha, minimum)
    if action == "show":
        _show(series, alpha, html, commit_url, json_out)
    else:
        _check(series, threshold, recent)
