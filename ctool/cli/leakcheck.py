"""`ctool leakcheck`: does memory grow per episode, and where? (service: ctool.leak.runner)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli.options import (
    PipelineOption,
    PresetOption,
    SeedOption,
    SettingsOption,
    count_option,
    episodes_option,
    warmup_option,
)
from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    OutputOption,
    QuietOption,
    parse_format,
)
from ctool.cli.stop import Targets, finish
from ctool.model.errors import EXIT_VERDICT

if TYPE_CHECKING:
    from ctool.model.schema import LeakcheckReport

# The option defaults repeat LeakcheckOptions' (importing them here would import pydantic on
# `ctool --help`); tests/leak/test_leakcheck.py checks that they agree.


MaxEpisodesOption = Annotated[
    int | None,
    count_option(
        "Budget: measured episodes at most, over all rounds (default: 40000, or "
        "--episodes if larger).",
        low=1,
    ),
]
MaxSecondsOption = Annotated[
    float, typer.Option(help="Budget: seconds of measured episodes at most.")
]
MaxRSSOption = Annotated[
    int | None,
    typer.Option(
        help="Memory budget, MiB of RSS: the run stops before ctool grows past it "
        "(default: half of this machine's memory).",
        show_default=False,
    ),
]
HorizonOption = Annotated[
    int,
    typer.Option(
        help="Steady growth over this many measured episodes is a leak (a bound "
        "reached later counts as one)."
    ),
]
ResolutionOption = Annotated[
    float,
    typer.Option(
        help="Bytes per episode: the last window is flat (growth stopped) when its "
        "95% upper bound is within max(threshold, this)."
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        help="What measures retained memory: tracemalloc, or memray (native "
        'allocations too; pip install "ctool[memray]").'
    ),
]
ThresholdOption = Annotated[
    float,
    typer.Option(help="Tolerance, bytes per episode: growth at or below it is not a leak."),
]
GrowthFloorOption = Annotated[
    float,
    typer.Option(help="A leak's growth over the run must exceed this percent of the RSS."),
]
FramesOption = Annotated[
    int,
    typer.Option(
        help="Traceback depth when a leak's sites are traced back to their stages "
        "(a few extra episodes; deeper costs more per allocation)."
    ),
]


def leakcheck_command(
    *,
    pipeline: PipelineOption = None,
    preset: PresetOption = None,
    set_: SettingsOption = None,
    seed: SeedOption = 0,
    episodes: Annotated[
        int, episodes_option("Measured episodes of the first round, then doubling \\[1000].", low=1)
    ] = 1000,
    max_episodes: MaxEpisodesOption = None,
    max_seconds: MaxSecondsOption = 600.0,
    max_rss: MaxRSSOption = None,
    horizon: HorizonOption = 10000,
    resolution: ResolutionOption = 8.0,
    engine: EngineOption = "tracemalloc",
    warmup: Annotated[
        int, warmup_option("Warm-up episodes, run first and discarded \\[100].")
    ] = 100,
    every: Annotated[
        int, typer.Option(help="Sample memory every N episodes (after gc.collect()).")
    ] = 20,
    threshold: ThresholdOption = 0.0,
    growth_floor: GrowthFloorOption = 0.1,
    top: Annotated[int, typer.Option(help="Rows of allocation sites and object types.")] = 10,
    frames: FramesOption = 8,
    strict: Annotated[
        bool, typer.Option(help="Exit 1 when the verdict is inconclusive, not only on a leak.")
    ] = False,
    output: OutputOption = None,
    html: HtmlOption = None,
    output_format: FormatOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run many episodes and test whether retained memory grows per episode.

    Warm-up episodes first (discarded); then rounds of measured episodes (doubling),
    sampling traced memory, RSS and live objects every N episodes after gc.collect(),
    until the answer is settled: growth that stops is clean (bounded, with its plateau);
    growth that goes on at a stable rate past --horizon is a leak (exit 1); a budget spent
    first is inconclusive, with the detection limit reached (exit 0; 1 with --strict).
    Shows the allocation sites that grew, with their stage, and the object types whose
    count grew.
    """
    from ctool.cli.console import make_console
    from ctool.leak.runner import LeakcheckOptions, run_leakcheck
    from ctool.workload.loader import parse_settings

    options = LeakcheckOptions(
        pipeline=pipeline,
        preset=preset,
        settings=parse_settings(set_),
        seed=seed or 0,
        episodes=episodes,
        warmup=warmup,
        every=every,
        threshold=threshold,
        growth_floor_pct=growth_floor,
        top=top,
        frames=frames,
        command="leakcheck",
        max_episodes=max_episodes,
        max_seconds=max_seconds,
        max_rss=None if max_rss is None else max_rss << 20,
        horizon=horizon,
        resolution=resolution,
        engine=engine,
    )
    options.validate()
    fmt = parse_format(output_format)
    targets = Targets(fmt=fmt, output=output, html=html, quiet=quiet)
    targets.check()
    status = make_console(stderr=True, quiet=quiet or fmt != "table")
    report = run_leakcheck(options, on_start=lambda line: status.print(line, style="dim"))
    finish(report, targets)
    if _no_evidence(report):
        raise typer.Exit(EXIT_VERDICT)
    if report.verdict == "leak" or (strict and report.verdict == "inconclusive"):
        raise typer.Exit(EXIT_VERDICT)


def _no_evidence(report: LeakcheckReport) -> bool:
    """Most episodes failed: an error (exit 1, the reason on stderr), never a verdict."""
    from ctool.analysis.leak_verdict import mostly_failed

    attempted = report.warmup + report.episodes + (report.attribution_episodes or 0)
    why = mostly_failed(report.errors.count, attempted)
    if why is not None:
        typer.echo(f"ctool: leakcheck: {why}", err=True)
    return why is not None
