"""`ctool compare BEFORE.json AFTER.json`: a statistically honest before/after report."""

from __future__ import annotations

from typing import Annotated

import typer

from ctool.cli import compare_output as out
from ctool.cli.output import FormatOption, HtmlOption, OutputOption, check_targets, parse_format


def compare_command(
    before: Annotated[
        str, typer.Argument(help="Profile report of the code before.", show_default=False)
    ],
    after: Annotated[
        str, typer.Argument(help="Profile report of the code after.", show_default=False)
    ],
    *,
    threshold: out.ThresholdOption = "5",
    alpha: out.AlphaOption = 0.05,
    gate: out.GateOption = None,
    output_format: FormatOption = None,
    output: OutputOption = None,
    html: HtmlOption = None,
    fail_on_regression: out.RegressionOption = False,
    fail_on_change: out.ChangeOption = False,
) -> None:
    """Compare two profile reports, with a statistically honest verdict per metric.

    Latency, throughput, stages, Φ, resources, hotspots, environment and behaviour, each
    with a verdict (docs/compare.md). Reports made
    with 'ctool profile --rounds R' are tested on round values, which include run-to-run
    drift; single-round reports on batch values, and the verdict says it is blind to that.

    Exit 0; 1 when --fail-on-regression or --fail-on-change fires; 2 on bad input.
    """
    from ctool.analysis.compare import compare_files, parse_gate

    fraction = out.parse_threshold(threshold)
    out.check_alpha(alpha)
    gates = parse_gate(gate)
    fmt = parse_format(output_format)
    check_targets(output, html)
    report, related = compare_files(before, after, threshold=fraction, alpha=alpha, gate=gates)
    out.emit_and_gate(
        report,
        output_format=fmt,
        output=output,
        html=html,
        related=related,
        fail_on_regression=fail_on_regression,
        fail_on_change=fail_on_change,
    )
