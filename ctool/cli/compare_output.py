"""What ``ctool compare`` and ``ctool ab`` share after the analysis: the options' parsing,
the output (through :func:`ctool.cli.stop.finish`), and the gate's exit code.

Heavy modules (pydantic schema, renderers) are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctool.model.errors import EXIT_OK, EXIT_VERDICT, UsageError

if TYPE_CHECKING:
    from ctool.model.schema import CompareReport, Report

THRESHOLD_HELP = "Smallest change reported, in percent (5 or 5%)."
ALPHA_HELP = "Significance level of the tests; intervals have confidence 1 - alpha."
GATE_HELP = (
    "Metrics the --fail-on-* options look at: p50, p95, p99, mean, throughput, rss, cpu, "
    "pipeline (every declared metric), all (every timing) or metric names such as "
    "stage.ESGT.p95 or pipeline.NAME (* matches). "
    "Default: p50."
)
REGRESSION_HELP = "Exit 1 when a gated metric is significantly worse beyond the threshold."
CHANGE_HELP = "Exit 1 when a gated metric changed significantly beyond the threshold, either way."


# The options compare and ab share, declared once.
ThresholdOption = Annotated[str, typer.Option(help=THRESHOLD_HELP)]
AlphaOption = Annotated[float, typer.Option(help=ALPHA_HELP)]
GateOption = Annotated[str | None, typer.Option(help=GATE_HELP, show_default=False)]
RegressionOption = Annotated[bool, typer.Option(help=REGRESSION_HELP)]
ChangeOption = Annotated[bool, typer.Option(help=CHANGE_HELP)]


def parse_threshold(text: str) -> float:
    """``"5"`` or ``"5%"`` -> 0.05."""
    raw = text.strip().removesuffix("%").strip()
    try:
        percent = float(raw)
    except ValueError:
        raise UsageError(
            f"--threshold expects a percentage such as 5 or 5%, got {text!r}"
        ) from None
    if not 0 <= percent < 100:
        raise UsageError(f"--threshold must be between 0 and 100 percent, got {text!r}")
    return percent / 100.0


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 0.5:
        raise UsageError(f"--alpha must be between 0 and 0.5, got {alpha:g}")
    return alpha


def emit_and_gate(
    report: CompareReport,
    *,
    output_format: str,
    output: Path | None,
    html: Path | None,
    related: Sequence[Report],
    fail_on_regression: bool,
    fail_on_change: bool,
) -> None:
    """Write, print, then exit with the gate's code (raises ``typer.Exit``); a stopped
    ``ab`` ends through :func:`ctool.cli.stop.finish` (130 / 143 / 129) before any gate."""
    from ctool.analysis.compare import unmatched_gate
    from ctool.cli.stop import Targets, finish

    finish(report, Targets(fmt=output_format, output=output, html=html, related=related))
    missing = unmatched_gate(report)
    if missing:
        raise UsageError(f"--gate {', '.join(missing)}: matches no metric of these reports")
    code = EXIT_OK
    if fail_on_regression and report.regressions:
        typer.echo(f"ctool: regression in {', '.join(report.regressions)}", err=True)
        code = EXIT_VERDICT
    elif fail_on_change and report.changes:
        typer.echo(f"ctool: significant change in {', '.join(report.changes)}", err=True)
        code = EXIT_VERDICT
    raise typer.Exit(code)
