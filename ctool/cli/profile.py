"""`ctool profile`: run a pipeline's episodes and show where the time goes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli.history import HistoryOption, record_history
from ctool.cli.optional import optional
from ctool.cli.options import (
    PipelineOption,
    PresetOption,
    SeedOption,
    SettingsOption,
    episodes_option,
    warmup_option,
)
from ctool.cli.output import (
    FormatOption,
    HtmlOption,
    OutputOption,
    QuietOption,
    parse_format,
    warning_line,
)
from ctool.cli.stop import Targets, finish
from ctool.cli.targets import (
    EpisodeOption,
    ModuleOption,
    PidOption,
    ProgramArgs,
    ScriptOption,
    TargetOptions,
    dispatch,
)
from ctool.model.errors import EXIT_INCOMPLETE, EXIT_VERDICT, UsageError

if TYPE_CHECKING:
    from ctool.model.schema import ProfileReport
    from ctool.monitors.observer import RunObserver
    from ctool.run.config import RunConfig
    from ctool.run.runner import PoolFactory

LOAD = "Load shape"
PROFILING = "Profilers"
OUTPUT = "Output"
SCALE = "Replicas (more than one process or machine)"


def profile_command(
    args: ProgramArgs = None,
    pipeline: PipelineOption = None,
    episode: EpisodeOption = None,
    script: ScriptOption = None,
    module: ModuleOption = None,
    pid: PidOption = None,
    preset: PresetOption = None,
    settings: SettingsOption = None,
    seed: SeedOption = None,
    episodes: Annotated[
        int | None,
        episodes_option(
            "Sequential episodes, and per concurrency level \\[default: 200]. "
            "0 skips the sequential part.",
            panel=LOAD,
        ),
    ] = None,
    warmup: Annotated[
        int | None, warmup_option("Unmeasured warm-up episodes \\[default: 5].")
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
        float | None,
        typer.Option(
            metavar="PER_S",
            help="Open loop: arrivals per second; latency from the intended start.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Run for this long: the open loop, each concurrency level, or (alone) a "
            "sustained sequential run with drift detection.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Queue N episodes at once: drain time, queue depth.",
            rich_help_panel=LOAD,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Run the sequential part in N replicas (worker processes, or Dask tasks with "
            "--executor dask); adds a scaling table.",
            rich_help_panel=SCALE,
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            metavar="local|dask",
            help="Where the --workers replicas run: local processes \\[default], or a Dask "
            'cluster (pip install "ctool\\[dask]"); see docs/scale-out.md.',
            rich_help_panel=SCALE,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="tcp://HOST:8786",
            help="--executor dask: the cluster's scheduler (default: start a LocalCluster "
            "of N one-thread worker processes here).",
            rich_help_panel=SCALE,
        ),
    ] = None,
    connect_timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="--executor dask: give up on the scheduler and its workers after this long "
            "\\[default: 10].",
            rich_help_panel=SCALE,
        ),
    ] = None,
    replica_samples: Annotated[
        str | None,
        typer.Option(
            metavar="DIR",
            help="Each replica also writes its raw latencies (ns, one a line) to "
            "DIR/stepK-replicaI.ns on its own host.",
            rich_help_panel=SCALE,
        ),
    ] = None,
    rounds: Annotated[
        int | None,
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
        int | None,
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
        int | None,
        typer.Option(
            metavar="N",
            help="Hotspot rows per profiler \\[default: 10].",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    hotspots: Annotated[
        str | None,
        typer.Option(
            metavar="FOLD",
            help="How hotspot rows fold library time: boundary (caller -> library function "
            "at the call line), user (into the calling user function) or all (unfolded) "
            "\\[default: boundary].",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    user_code: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PATH_OR_PACKAGE",
            help="Treat this path or installed package as your code, not a library (repeatable).",
            rich_help_panel=PROFILING,
        ),
    ] = None,
    block_threshold_ms: Annotated[
        float | None,
        typer.Option(
            metavar="MS",
            help="Name the calls that block the event loop at least this long "
            "\\[default: 5; 0 turns the watchdog off].",
        ),
    ] = None,
    episode_timeout: Annotated[
        float | None,
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
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve live Prometheus metrics on this port during the run (and /targets: "
            "every replica's exporter, for Prometheus's http_sd_configs).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    metrics_linger: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="After the run, keep serving the final metrics until scraped once more, at "
            "most this long \\[default: 0].",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    history: HistoryOption = None,
) -> None:
    """Run a pipeline's episodes and show where the time goes.

    Latency percentiles, a per-stage breakdown, behaviour under load (closed loop, open loop,
    bursts, worker processes), resources, event-loop stalls and optional profiler hotspots.
    Defaults may come from \\[tool.ctool] in ./pyproject.toml or from ./ctool.toml.
    """
    from ctool.cli.console import make_console
    from ctool.cli.defaults import load_defaults
    from ctool.cli.profile_options import ProfileOptions, resolve

    pipeline = dispatch(
        TargetOptions(
            pipeline=pipeline,
            episode=episode,
            script=script,
            module=module,
            pid=pid,
            args=args or [],
            duration=duration,
            profilers=profiler or [],
            require=require,
            pyspy_rate=pyspy_rate,
            top=top,
            hotspots=hotspots,
            user_code=user_code or [],
            block_threshold_ms=block_threshold_ms,
            output_format=output_format,
            quiet=quiet,
            output=output,
            html=html,
            episode_options={
                "--episodes": episodes,
                "--warmup": warmup,
                "--concurrency": concurrency,
                "--rate": rate,
                "--burst": burst,
                "--workers": workers,
                "--rounds": rounds,
                "--set": settings,
                "--preset": preset,
            },
        )
    )
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
            hotspots=hotspots,
            user_code=user_code or [],
            block_threshold_ms=block_threshold_ms,
            episode_timeout=episode_timeout,
            command=shlex.join(["ctool", *sys.argv[1:]]),
            executor=executor,
            scheduler=scheduler,
            connect_timeout=connect_timeout,
            replica_samples=replica_samples,
        ),
        defaults,
    )
    targets = Targets(fmt=fmt, output=output, html=html, quiet=quiet)
    targets.check()
    stderr = make_console(stderr=True, quiet=quiet)
    observers: list[RunObserver] = []
    if metrics_port is not None:
        observers.append(_prometheus(metrics_port, metrics_linger or 0.0))
    pool_factory = _pool_factory(config, observers[0] if metrics_port is not None else None)
    if not quiet and stderr.is_terminal:
        from ctool.cli.progress import ProgressObserver

        observers.append(ProgressObserver(stderr))

    from ctool.run.runner import run_profile

    report = run_profile(
        config,
        observers=observers,
        warn=lambda m: stderr.print(warning_line(m)),
        pool_factory=pool_factory,
    )
    record_history(report, history, "profile")
    finish(report, targets, interrupted=report.incomplete_reason == "interrupted")
    _exit_code(report, output)


def _prometheus(port: int, linger_s: float) -> RunObserver:
    if not 0 < port < 65536:
        raise UsageError(f"--metrics-port must be between 1 and 65535, got {port}")
    if not 0 <= linger_s <= 3600:
        raise UsageError(f"--metrics-linger must be between 0 and 3600 seconds, got {linger_s}")
    observer_class = optional("ctool.exporters.prometheus", "PrometheusObserver", "--metrics-port")
    try:
        observer: RunObserver = (
            observer_class(port, linger_s=linger_s) if linger_s else observer_class(port)
        )
    except OSError as exc:
        raise UsageError(f"--metrics-port {port}: cannot listen: {exc.strerror or exc}") from None
    return observer


def _pool_factory(config: RunConfig, exporter: RunObserver | None) -> PoolFactory | None:
    """``--executor dask``: replicas on a Dask cluster (checked for the extra up front)."""
    if config.executor != "dask":
        return None
    from ctool.executors.dask import pool_factory

    return pool_factory(exporter)


def _exit_code(report: ProfileReport, output: Path | None) -> None:
    """After :func:`finish` (a stop signal exits there: 130 / 143 / 129): a replica failed:
    3 (the partial report was written); every episode failed: 1."""
    if not report.complete and report.incomplete_reason == "replica-failed":
        where = f"; partial report written to {output}" if output is not None else ""
        lost = ", ".join(r.failed or "" for r in report.replicas if r.failed)
        typer.echo(f"ctool: incomplete: {lost}{where}", err=True)
        raise typer.Exit(EXIT_INCOMPLETE)
    if report.latency_ms.count == 0 and report.errors.count:
        typer.echo(f"ctool: every episode failed ({report.errors.count:,} errors)", err=True)
        raise typer.Exit(EXIT_VERDICT)
