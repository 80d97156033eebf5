"""`ctool chaos`: faults at the stages, every episode accounted for against a control,
recovery measured. (service: ctool.chaos.runner.run_chaos)"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from ctool.model.errors import EXIT_VERDICT

PlanOption = Annotated[
    Path | None, typer.Option(metavar="FILE", help="The plan: a TOML file (docs/chaos.md).")
]
FaultOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        metavar="KIND:TARGET:K=V,...",
        help="A fault, e.g. error:span:MEA:probability=0.05 or "
        "cpu::threads=2,start_s=1,duration_s=3 (repeatable).",
    ),
]
ProxyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--proxy",
        metavar="NAME=HOST:PORT",
        help="Start a TCP fault proxy to HOST:PORT; the pipeline connects to the address "
        "in $CTOOL_PROXY_<NAME> (repeatable).",
    ),
]


def chaos_command(
    *,
    plan: PlanOption = None,
    fault: FaultOption = None,
    pipeline: PipelineOption = None,
    preset: PresetOption = None,
    set_: SettingsOption = None,
    seed: SeedOption = 0,
    duration: Annotated[
        float | None, typer.Option(metavar="S", help="Seconds per side (control, experiment).")
    ] = None,
    episodes: Annotated[
        int | None, typer.Option(metavar="N", help="Episodes per side (instead of --duration).")
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Episodes in flight.")] = None,
    episode_timeout: Annotated[
        float | None, typer.Option(metavar="S", help="An episode longer than this times out.")
    ] = None,
    window: Annotated[
        float | None, typer.Option(metavar="S", help="Timeline window, seconds \\[default: 1].")
    ] = None,
    abort_burn: Annotated[
        float | None,
        typer.Option(metavar="X", help="End the experiment when errors burn X times too fast."),
    ] = None,
    proxy: ProxyOption = None,
    live: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Turn faults on and off while the experiment runs: DIR/faults.json lists "
            "them, DIR/status.json shows the last window, DIR/stop ends it (docs/chaos.md).",
        ),
    ] = None,
    output: OutputOption = None,
    html: HtmlOption = None,
    output_format: FormatOption = None,
    quiet: QuietOption = False,
) -> None:
    """Faults at the stages, every episode accounted for against a control, recovery measured.

    The pipeline runs without faults (the control), then with the plan's
    faults (the experiment), the same seeds on both sides. Every started
    episode of the experiment is named exactly once: ok, failed (by type),
    timed out, lost, duplicated, wrong output escaped or caught (its digest
    against the control's). The steady-state hypothesis is checked per window
    before, during and after the faults; time to detect and to recover,
    throughput lost, p99 inflation, the error budget burned and what was left
    behind are reported. Exit 1 when the hypothesis is violated, the
    experiment is refused (not steady without faults) or aborted.
    """
    from ctool.chaos.options import chaos_options
    from ctool.chaos.runner import run_chaos
    from ctool.workload.loader import parse_settings

    options = chaos_options(
        plan_path=plan,
        faults=fault,
        pipeline=pipeline,
        preset=preset,
        settings=parse_settings(set_),
        seed=seed or 0,
        duration_s=duration,
        episodes=episodes,
        concurrency=concurrency,
        episode_timeout_s=episode_timeout,
        window_s=window,
        abort_burn=abort_burn,
        proxies=proxy,
        live_dir=live,
    )
    targets = Targets(fmt=parse_format(output_format), output=output, html=html, quiet=quiet)
    targets.check()
    report = run_chaos(options)
    finish(report, targets)
    if report.verdict in ("violated", "refused", "aborted"):
        raise typer.Exit(EXIT_VERDICT)
