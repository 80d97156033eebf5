"""`ctool leakcheck`: does memory grow per episode, and where? (service: ctool.harness.leak)"""

from __future__ import annotations

from typing import Annotated

import typer

from ctool.cli.options import PipelineOption, PresetOption, SeedOption, SettingsOption
from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    OutputOption,
    QuietOption,
    check_targets,
    emit,
    exit_interrupted,
    parse_format,
)
from ctool.model.errors import EXIT_VERDICT

# The option defaults repeat LeakcheckOptions' (importing them here would import pydantic on
# `ctool --help`); tests/test_leakcheck.py checks that they agree.


def leakcheck_command(
    *,
    pipeline: PipelineOption = None,
    preset: PresetOption = None,
    set_: SettingsOption = None,
    seed: SeedOption = 0,
    episodes: Annotated[int, typer.Option(help="Measured episodes.")] = 1000,
    warmup: Annotated[int, typer.Option(help="Warm-up episodes, run first and discarded.")] = 100,
    every: Annotated[
        int, typer.Option(help="Sample memory every N episodes (after gc.collect()).")
    ] = 20,
    threshold: Annotated[
        float,
        typer.Option(
            help="Leak when the slope's 95% lower bound exceeds this, in bytes per episode."
        ),
    ] = 256.0,
    growth_floor: Annotated[
        float,
        typer.Option(
            help="...and the growth over the run exceeds this percent of the process's RSS."
        ),
    ] = 0.1,
    top: Annotated[int, typer.Option(help="Rows of allocation sites and object types.")] = 10,
    frames: Annotated[
        int,
        typer.Option(
            help="Traceback depth when a leak's sites are traced back to their stages "
            "(a few extra episodes; deeper costs more per allocation)."
        ),
    ] = 8,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 when the verdict is inconclusive, not only on a leak.")
    ] = False,
    output: OutputOption = None,
    html: HtmlOption = None,
    output_format: FormatOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run many episodes and test whether retained memory grows per episode.

    Warm-up episodes first (discarded); then every N measured episodes, after
    gc.collect(), sample traced memory (tracemalloc), RSS and live objects. A Theil-Sen
    slope with its 95% interval decides: leak (exit 1), clean (exit 0) or inconclusive
    (exit 0; 1 with --strict). Shows the allocation sites that grew, with their stage,
    and the object types whose count grew.
    """
    from ctool.cli.console import make_console
    from ctool.harness.leak import LeakcheckOptions, run_leakcheck
    from ctool.harness.loader import parse_settings

    options = LeakcheckOptions(
        pipeline=pipeline,
        preset=preset,
        settings=parse_settings(set_),
        seed=seed,
        episodes=episodes,
        warmup=warmup,
        every=every,
        threshold=threshold,
        growth_floor_pct=growth_floor,
        top=top,
        frames=frames,
        command="leakcheck",
    )
    options.validate()
    fmt = parse_format(output_format)
    check_targets(output, html)
    status = make_console(stderr=True, quiet=quiet or fmt != "table")
    report = run_leakcheck(options, on_start=lambda line: status.print(line, style="dim"))
    emit(report, fmt=fmt, output=output, html=html, quiet=quiet)
    if not report.complete:
        exit_interrupted(output)
    if report.verdict == "leak" or (strict and report.verdict == "inconclusive"):
        raise typer.Exit(EXIT_VERDICT)
