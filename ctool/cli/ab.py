"""`ctool ab`: interleaved A/B of two configurations in fresh processes (A B, B A, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.cli import compare_output as out
from ctool.cli.console import make_console
from ctool.cli.output import FormatOption, HtmlOption, OutputOption, check_targets, parse_format

if TYPE_CHECKING:
    from ctool.harness.ab import Side
    from ctool.model.schema import ProfileReport


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
        int, typer.Option(help="Rounds; each runs A then B in fresh processes.")
    ] = 10,
    episodes: Annotated[int, typer.Option(help="Episodes per half round.")] = 200,
    warmup: Annotated[int, typer.Option(help="Warm-up episodes per half round.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of every half round.")] = 0,
    order: Annotated[
        str,
        typer.Option(
            help="abba: A B, B A, A B, ... (which side runs second alternates); ab: A B, A B."
        ),
    ] = "abba",
    threshold: out.ThresholdOption = "5",
    alpha: out.AlphaOption = 0.05,
    gate: out.GateOption = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    html: HtmlOption = None,
    keep: Annotated[
        str | None, typer.Option(help="Keep every half round's profile report in this directory.")
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
        int, typer.Option(help="Extra profiled rounds with --profiler.")
    ] = 2,
    fail_on_regression: out.RegressionOption = False,
    fail_on_change: out.ChangeOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Interleaved A/B of two configurations in fresh processes: the CI-grade comparison.

    Runs A and B alternately (A B, B A, ...) and tests the per-round ratios B/A with the
    Wilcoxon signed-rank test: the ratio survives the machine's drift, which is
    why CI should use this rather than comparing two files made at different times.

    Same verdicts, gates and exit codes as 'ctool compare' (docs/compare.md).
    """
    from ctool.analysis.compare import parse_gate
    from ctool.harness.ab import ABInterrupted, ABPlan, parse_side, run_ab
    from ctool.harness.loader import DEFAULT_PIPELINE

    plan = ABPlan(
        a=parse_side("A", a, a_pipeline),
        b=parse_side("B", b, b_pipeline),
        rounds=rounds,
        episodes=episodes,
        warmup=warmup,
        seed=seed,
        pipeline=pipeline or DEFAULT_PIPELINE,
        threshold=out.parse_threshold(threshold),
        alpha=out.check_alpha(alpha),
        gate=parse_gate(gate),
        keep=Path(keep) if keep else None,
        profilers=tuple(profiler or ()),
        profiled_rounds=profiled_rounds,
        order=order,  # type: ignore[arg-type]  # checked by plan.check()
    )
    plan.check()
    fmt = parse_format(output_format)
    check_targets(output, html)
    console = make_console(stderr=True, quiet=quiet)
    firsts: dict[str, ProfileReport] = {}

    def progress(index: int, side: Side, report: ProfileReport) -> None:
        firsts.setdefault(side.label, report)
        lat = report.latency_ms
        console.print(
            f"round {index + 1}/{rounds}  {side.label}  p50 {lat.p50:.3g} ms  "
            f"p95 {lat.p95:.3g} ms  {report.throughput_eps:.3g} episodes/s"
        )

    try:
        report = run_ab(plan, progress=progress)
    except ABInterrupted as stop:
        if stop.report is not None and output:
            from ctool.model.io import write_report

            write_report(stop.report, output)
        raise KeyboardInterrupt from None
    out.emit_and_gate(
        report,
        output_format=fmt,
        output=output,
        html=html,
        related=[firsts[label] for label in ("A", "B") if label in firsts],
        fail_on_regression=fail_on_regression,
        fail_on_change=fail_on_change,
    )
