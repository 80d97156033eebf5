"""``ctool suite``: the performance plan (20 scenarios, 3 correctness metrics) against targets."""

from __future__ import annotations

import shlex
import sys
from typing import Annotated, Any

import typer

from ctool.cli.options import PipelineOption, PresetOption, SeedOption, SettingsOption
from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    OutputOption,
    QuietOption,
    parse_format,
)
from ctool.cli.stop import Targets, finish
from ctool.model.errors import EXIT_OK, EXIT_VERDICT


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
    output: OutputOption = None,
    html: HtmlOption = None,
    output_format: FormatOption = None,
    quiet: QuietOption = False,
    executor: Annotated[
        str | None,
        typer.Option(
            metavar="local|dask",
            help="Where the scaling scenario's replicas run (see ctool profile --executor).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="tcp://HOST:8786",
            help="--executor dask: the cluster's scheduler (default: a LocalCluster).",
        ),
    ] = None,
) -> None:
    """Run the performance plan's 20 scenarios and 3 correctness metrics, each against its target.

    Targets default to the plan (p50 < 50 ms, p95 < 100 ms, > 20 episodes/s, Φ p95 < 10 ms,
    hit rate > 80 %, growth < 10 %, CPU < 70 % of a core, < 1 MB/s, gain > 20 %) and can be
    set in \\[tool.ctool.targets] of ./pyproject.toml or in ./ctool.toml. Exit code 1 when a
    target is missed, 130 / 143 / 129 when
    stopped by SIGINT / SIGTERM / SIGHUP (a partial report is still written).
    """
    from ctool.cli.console import make_console
    from ctool.suite.runner import SuiteOptions, run_suite
    from ctool.suite.targets import find_target_overrides, resolve_targets
    from ctool.workload.loader import DEFAULT_PIPELINE, parse_settings

    fmt = parse_format(output_format)
    targets = Targets(fmt=fmt, output=output, html=html, quiet=quiet)
    targets.check()
    overrides, source = find_target_overrides()
    options = SuiteOptions(
        pipeline=pipeline or DEFAULT_PIPELINE,
        preset=preset,
        seed=seed or 0,
        settings=parse_settings(settings),
        quick=quick,
        only=[item for item in (only or "").split(",") if item.strip()],
        targets=resolve_targets(overrides, source or "targets"),
        command=shlex.join(["ctool", *sys.argv[1:]]),
        executor=executor or "local",
        scheduler=scheduler,
        pool_factory=_pool_factory(executor, scheduler),
    )
    err = make_console(stderr=True, quiet=quiet)
    report = run_suite(options, progress=lambda msg: err.log(msg) if fmt == "table" else None)
    finish(report, targets)
    raise typer.Exit(EXIT_VERDICT if report.failed else EXIT_OK)


def _pool_factory(executor: str | None, scheduler: str | None) -> Any:
    """``--executor dask`` for the scaling scenario (the options are checked here, up front)."""
    from ctool.run.config import RunConfig

    RunConfig(executor=executor or "local", scheduler=scheduler)  # one-line usage errors
    if executor != "dask":
        return None
    from ctool.executors.dask import pool_factory

    return pool_factory()
