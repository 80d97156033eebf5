"""`ctool profile`: run a pipeline's episodes and show where the time goes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli.optional import optional
from ctool.cli.options import PipelineOption, PresetOption, SettingsOption
from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    OutputOption,
    QuietOption,
    check_targets,
    emit,
    exit_interrupted,
    parse_format,
    warning_line,
)
from ctool.model.errors import EXIT_VERDICT, UsageError

if TYPE_CHECKING:
    from ctool.harness.observer import RunObserver
    from ctool.model.schema import ProfileReport

LOAD = "Load shape"
PROFILING = "Profilers"
OUTPUT = "Output"


def profile_command(
    pipeline: PipelineOption = None,
    preset: PresetOption = None,
    settings: SettingsOption = None,
    seed: Annotated[
        str | None, typer.Option(metavar="N", help="Random seed \\[default: 0].")
    ] = None,
    episodes: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Sequential episodes, and per concurrency level \\[default: 200]. "
            "0 skips the sequential part.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(metavar="N", help="Unmeasured warm-up episodes \\[default: 5]."),
    ] = None,
    concurrency: Annotated[
        str | None,
        typer.Option(
            metavar="1,5,10",
            help="Closed-loop sweep: clients per level; latency against load, knee and cliff.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            metavar="PER_S",
            help="Open loop: arrivals per second; latency from the intended start.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            metavar="SECONDS",
            help="Run for this long: the open loop, each concurrency level, or (alone) a "
            "sustained sequential run with drift detection.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    burst: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Queue N episodes at once: drain time, queue depth.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Run the sequential part in N worker processes; adds a scaling table.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    rounds: Annotated[
        str | None,
        typer.Option(
            metavar="R",
            help="Run the sequential part in R fresh processes, one after another "
            "(per-round statistics for ctool compare).",
            rich_help_panel=LOAD,
        ),
    ] = None,
    profiler: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Profiler backend to run (repeatable); see ctool profilers.",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    require: Annotated[
        bool | None,
        typer.Option(
            "--require/--no-require",
            help="Fail if a chosen profiler cannot run here (default: warn and go on).",
            rich_help_panel=PROFILING,
            show_default=False,
        ),
    ] = None,
    pyspy_rate: Annotated[
        str | None,
        typer.Option(
            metavar="HZ", help="py-spy sampling rate \\[default: 100].", rich_help_panel=PROFILING
        ),
    ] = None,
    line_target: Annotated[
        list[str] | None,
        typer.Option(
            metavar="MODULE:FUNC",
            help="Function for the line profiler (repeatable).",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    memory_target: Annotated[
        list[str] | None,
        typer.Option(
            metavar="MODULE:FUNC",
            help="Function for the memory profiler (repeatable).",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    top: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help="Hotspot rows per profiler \\[default: 10].",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    block_threshold_ms: Annotated[
        str | None,
        typer.Option(
            metavar="MS",
            help="Name the calls that block the event loop at least this long "
            "\\[default: 5; 0 turns the watchdog off].",
        ),
    ] = None,
    episode_timeout: Annotated[
        str | None,
        typer.Option(
            metavar="SECONDS",
            help="An episode running longer is an error of kind timeout and the run goes on "
            "\\[default: 300; 0: no limit]. A sync episode cannot be cancelled in process: it is "
            "reported, and with --workers its worker is ended.",
        ),
    ] = None,
    output_format: FormatOption = None,
    quiet: QuietOption = False,
    output: OutputOption = None,
    html: HtmlOption = None,
    metrics_port: Annotated[
        str | None,
        typer.Option(
            metavar="PORT",
            help="Serve live Prometheus metrics on this port during the run.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
) -> None:
    """Run a pipeline's episodes and show where the time goes.

    Latency percentiles, a per-stage breakdown, behaviour under load (closed loop, open loop,
    bursts, worker processes), resources, event-loop stalls and optional profiler hotspots.
    Defaults may come from \\[tool.ctool] in ./pyproject.toml or from ./ctool.toml.
    """
    from ctool.cli.console import make_console
    from ctool.harness.defaults import load_defaults
    from ctool.harness.runconfig import ProfileOptions, parse_int, resolve

    defaults = load_defaults("profile")
    fmt = parse_format(output_format, defaults.get_str("format"))
    config = resolve(
        ProfileOptions(
            pipeline=pipeline,
            preset=preset,
            settings=settings or [],
            seed=seed,
            episodes=episodes,
            warmup=warmup,
            concurrency=concurrency,
            rate=rate,
            duration=duration,
            burst=burst,
            workers=workers,
            rounds=rounds,
            profilers=profiler or [],
            require=require,
            pyspy_rate=pyspy_rate,
            line_targets=line_target or [],
            memory_targets=memory_target or [],
            top=top,
            block_threshold_ms=block_threshold_ms,
            episode_timeout=episode_timeout,
            command=shlex.join(["ctool", *sys.argv[1:]]),
        ),
        defaults,
    )
    check_targets(output, html)
    stderr = make_console(stderr=True, quiet=quiet)
    observers: list[RunObserver] = []
    port = parse_int("--metrics-port", metrics_port)
    if port is not None:
        observers.append(_prometheus(port))
    if not quiet and stderr.is_terminal:
        from ctool.cli.progress import ProgressObserver

        observers.append(ProgressObserver(stderr))

    from ctool.harness.runner import run_profile

    report = run_profile(config, observers=observers, warn=lambda m: stderr.print(warning_line(m)))
    emit(report, fmt=fmt, output=output, html=html, quiet=quiet)
    _exit_code(report, output)


def _prometheus(port: int) -> RunObserver:
    if not 0 < port < 65536:
        raise UsageError(f"--metrics-port must be between 1 and 65535, got {port}")
    observer_class = optional("ctool.harness.prometheus", "PrometheusObserver", "--metrics-port")
    try:
        observer: RunObserver = observer_class(port)
    except OSError as exc:
        raise UsageError(f"--metrics-port {port}: cannot listen: {exc.strerror or exc}") from None
    return observer


def _exit_code(report: ProfileReport, output: Path | None) -> None:
    """Interrupted: 130 (the partial report was written); every episode failed: 1."""
    if not report.complete:
        exit_interrupted(output)
    if report.latency_ms.count == 0 and report.errors.count:
        typer.echo(f"ctool: every episode failed ({report.errors.count:,} errors)", err=True)
        raise typer.Exit(EXIT_VERDICT)
