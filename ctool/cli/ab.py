"""`ctool ab`: A and B interleaved in short blocks inside long-lived worker pairs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli import compare_output as out
from ctool.cli.console import make_console
from ctool.cli.history import HistoryOption, record_history
from ctool.cli.options import SeedOption, count_option, episodes_option, warmup_option
from ctool.cli.output import FormatOption, HtmlOption, OutputOption, check_targets, parse_format

if TYPE_CHECKING:
    from ctool.analysis.compare.blocks import ABRound


def ab_command(
    *,
    a: Annotated[str, typer.Option("--a", help='Side A: "preset=baseline,key=value,...".')] = "",
    b: Annotated[str, typer.Option("--b", help='Side B: "preset=optimized,key=value,...".')] = "",
    a_pipeline: Annotated[
        str | None,
        typer.Option(help="A's pipeline: module:factory, or a checkout directory to run A in."),
    ] = None,
    b_pipeline: Annotated[
        str | None,
        typer.Option(help="B's pipeline: module:factory, or a checkout directory to run B in."),
    ] = None,
    pipeline: Annotated[
        str | None, typer.Option(help="Pipeline of a side that names none (module:factory).")
    ] = None,
    rounds: Annotated[
        int | None,
        count_option(
            "Rounds (fresh worker pairs, each with its own hash seed). Default 6; with "
            "--until-decided the most rounds (default 30).",
            low=0,
        ),
    ] = None,
    blocks: Annotated[int, count_option("ABBA block pairs per round \\[default: 10].", low=1)] = 10,
    block_ms: Annotated[float, typer.Option(help="Length of a block in milliseconds.")] = 100.0,
    episodes: Annotated[
        int | None, episodes_option("Episodes per block (default: --block-ms worth).", low=1)
    ] = None,
    warmup: Annotated[int, warmup_option("Warm-up episodes per worker \\[default: 20].")] = 20,
    seed: SeedOption = 0,
    measure: Annotated[
        str, typer.Option(help="wall (time), cpu (CPU time) or instructions (perf counters).")
    ] = "wall",
    until_decided: Annotated[
        bool,
        typer.Option(
            "--until-decided", help="Add rounds until the gated metric's interval decides."
        ),
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Time budget in seconds for the whole command, start-up included (default 60 "
            "with --until-decided, 180 for instructions).",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        str | None,
        typer.Option(
            help="Smallest change reported, in percent. Default 5 (wall, cpu) or 1 (instructions).",
            show_default=False,
        ),
    ] = None,
    alpha: out.AlphaOption = 0.05,
    gate: out.GateOption = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    html: HtmlOption = None,
    keep: Annotated[
        str | None, typer.Option(help="Keep every round's block values in this directory.")
    ] = None,
    profiler: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Profile in extra rounds of their own (repeatable; pyspy for the movers "
            "table and the differential flame graph); they never feed the timing verdict.",
        ),
    ] = None,
    profiled_rounds: Annotated[
        int, count_option("Extra profiled rounds with --profiler \\[default: 2].", low=1)
    ] = 2,
    fail_on_regression: out.RegressionOption = False,
    fail_on_change: out.ChangeOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    history: HistoryOption = None,
) -> None:
    """A/B of two configurations, interleaved in short ABBA blocks: the CI-grade comparison.

    Each round starts one worker process per side (sharing a hash seed) and alternates
    them in blocks of about --block-ms, so that adjacent A and B blocks share the machine's
    state; the rounds' median block-pair ratios B/A go into a t interval. --until-decided
    adds rounds until the interval lies inside or outside the threshold.

    Same verdicts, gates and exit codes as 'ctool compare' (docs/compare.md).
    """
    from ctool.ab.runner import ABPlan, parse_side, run_ab
    from ctool.analysis.compare import parse_gate
    from ctool.cli import clock
    from ctool.workload.loader import DEFAULT_PIPELINE

    plan = ABPlan(
        a=parse_side("A", a, a_pipeline),
        b=parse_side("B", b, b_pipeline),
        rounds=rounds,
        blocks=blocks,
        block_ms=block_ms,
        episodes=episodes,
        warmup=warmup,
        seed=seed or 0,
        pipeline=pipeline or DEFAULT_PIPELINE,
        threshold=None if threshold is None else out.parse_threshold(threshold),
        alpha=out.check_alpha(alpha),
        gate=None if gate is None else parse_gate(gate),
        measure=measure,  # type: ignore[arg-type]  # checked by plan.check()
        until_decided=until_decided,
        budget_s=budget,
        keep=Path(keep) if keep else None,
        profilers=tuple(profiler or ()),
        profiled_rounds=profiled_rounds,
    )
    plan.check()
    fmt = parse_format(output_format)
    check_targets(output, html)
    console = make_console(stderr=True, quiet=quiet)

    def progress(index: int, result: ABRound, log_ratio: float | None) -> None:
        import math

        ratio = "-" if log_ratio is None else f"{math.exp(log_ratio):.4f}"
        console.print(
            f"round {index + 1}/{plan.max_rounds}  {plan.measure} B/A {ratio}  "
            f"({len(result.a_blocks)} block pairs of {result.episodes_per_block} episodes, "
            f"hash seed {result.hash_seed})"
        )

    report = run_ab(plan, progress=progress, started=clock.started)
    record_history(report, history, "ab")
    out.emit_and_gate(
        report,
        output_format=fmt,
        output=output,
        html=html,
        related=[],
        fail_on_regression=fail_on_regression,
        fail_on_change=fail_on_change,
    )
