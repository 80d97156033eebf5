"""``ctool suite``: the 20-scenario performance plan, run against targets."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ctool.cli.options import PipelineOption, PresetOption, SeedOption, SettingsOption
from ctool.model.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_VERDICT, UsageError


def suite_command(
    *,
    pipeline: PipelineOption = None,
    preset: PresetOption = None,
    settings: SettingsOption = None,
    seed: SeedOption = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="Shorter runs: the whole suite in under two minutes.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated scenario names or numbers to run (default: all 20)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the suite report (JSON) here.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Output: table, markdown or json.")
    ] = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Run the performance plan's 20 scenarios, each against its target.

    Targets default to the plan (p50 < 50 ms, p95 < 100 ms, > 20 episodes/s, Φ p95 < 10 ms,
    hit rate > 80 %, growth < 10 %, CPU < 70 % of a core, < 1 MB/s, gain > 20 %) and can be
    set in [tool.ctool.targets] of ./pyproject.toml or in ./ctool.toml. Exit code 1 when a
    target is missed, 130 when interrupted (a partial report is still written).
    """
    from ctool.cli.console import make_console
    from ctool.harness.loader import DEFAULT_PIPELINE, parse_settings
    from ctool.model.io import check_writable, write_report
    from ctool.suite.runner import SuiteOptions, run_suite
    from ctool.suite.targets import find_target_overrides, resolve_targets

    if fmt not in ("table", "markdown", "json"):
        raise UsageError(f"--format must be table, markdown or json, got {fmt!r}")
    for path in (output, html):
        if path is not None:
            check_writable(path)
    overrides, source = find_target_overrides()
    options = SuiteOptions(
        pipeline=pipeline or DEFAULT_PIPELINE,
        preset=preset,
        seed=seed,
        settings=parse_settings(settings),
        quick=quick,
        only=[item for item in (only or "").split(",") if item.strip()],
        targets=resolve_targets(overrides, source or "targets"),
        command=shlex.join(["ctool", *sys.argv[1:]]),
    )
    console = make_console(quiet=quiet)
    err = make_console(stderr=True, quiet=quiet)
    report = run_suite(options, progress=lambda msg: err.log(msg) if fmt == "table" else None)
    if output is not None:
        write_report(report, output)
    if html is not None:
        from ctool.cli.optional import html_writer

        html_writer()(report, html)
    if fmt == "json":
        console.print_json(report.model_dump_json())
    elif fmt == "markdown":
        from ctool.reports.suite_terminal import render_suite_markdown

        console.print(render_suite_markdown(report), markup=False, highlight=False)
    else:
        from ctool.reports.suite_terminal import render_suite

        console.print(render_suite(report))
    if not report.complete:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_VERDICT if report.failed else EXIT_OK)
