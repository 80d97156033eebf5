"""The gate (``--gate``): which rows decide the exit code of ``--fail-on-regression`` and
``--fail-on-change``."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from ctool.analysis.sequential import holm_adjust
from ctool.analysis.statistics import CHANGED_VERDICTS, WORSE_VERDICTS
from ctool.model.declared import ROW_PREFIX, TIME_UNITS
from ctool.model.errors import UsageError
from ctool.model.schema import CompareReport, MetricComparison

DEFAULT_GATE: tuple[str, ...] = ("p50",)
"""The robust centre. Each gated metric adds its own chance of a false alarm (docs/compare.md
measures them on the model): gate tails and throughput on purpose, with enough rounds."""
GATE_ALIASES: dict[str, str] = {
    "p50": "latency.p50",
    "p95": "latency.p95",
    "p99": "latency.p99",
    "mean": "latency.mean",
    "throughput": "throughput",
    "rss": "rss.peak_mb",
    "cpu": "cpu.ms_per_episode",
    "pipeline": "pipeline.*",
    "instructions": "instructions.per_episode",
}
_METRIC_PREFIXES = (
    "latency.",
    "throughput",
    "stage.",
    "pipeline.",
    "rss.",
    "cpu.",
    "instructions.",
)


def parse_gate(text: str | Sequence[str] | None) -> list[str]:
    """``"p50,p99,throughput"`` -> metric names or patterns; a bad entry is a UsageError."""
    if text is None:
        return list(DEFAULT_GATE)
    parts = text.split(",") if isinstance(text, str) else list(text)
    entries = [part.strip() for part in parts if part.strip()]
    if not entries:
        raise UsageError("--gate needs at least one metric, e.g. --gate p50,p99,throughput")
    for entry in entries:
        if entry == "all" or entry in GATE_ALIASES:
            continue
        if not entry.startswith(_METRIC_PREFIXES):
            known = ", ".join([*GATE_ALIASES, "all"])
            raise UsageError(
                f"--gate: unknown metric {entry!r} (use {known}, or a metric name such as "
                "stage.ESGT.p95; * and ? match)"
            )
    return entries


def is_timing(metric: str, unit: str | None = None) -> bool:
    """Is the metric a timing (worded faster/slower; what ``--gate all`` picks)? A declared
    metric (``pipeline.*``) is one when its unit is a time."""
    if metric.startswith(ROW_PREFIX):
        return unit in TIME_UNITS
    return metric.startswith(("latency.", "stage.")) or metric == "throughput"


def gate_matches(entry: str, metric: str, unit: str | None = None) -> bool:
    """Does one ``--gate`` entry (an alias, ``all``, a name or a pattern) pick the metric?"""
    if entry == "all":
        return is_timing(metric, unit)
    return fnmatch.fnmatchcase(metric, GATE_ALIASES.get(entry, entry))


def unmatched_gate(report: CompareReport) -> list[str]:
    """Gate entries that picked no row: a typo that would make the gate never fire."""
    return [
        e for e in report.gate if not any(gate_matches(e, r.metric, r.unit) for r in report.metrics)
    ]


def apply_gate(rows: list[MetricComparison], gate: Sequence[str]) -> None:
    """Mark the rows the gate picks (``MetricComparison.gated``), in place."""
    for row in rows:
        row.gated = any(gate_matches(entry, row.metric, row.unit) for entry in gate)


def regressions_and_changes(rows: Sequence[MetricComparison]) -> tuple[list[str], list[str]]:
    """The gated metrics that got worse, and those that changed either way."""
    regressions = [r.metric for r in rows if r.gated and r.verdict in WORSE_VERDICTS]
    changes = [r.metric for r in rows if r.gated and r.verdict in CHANGED_VERDICTS]
    return regressions, changes


def correct_ungated(rows: Sequence[MetricComparison], alpha: float) -> None:
    """Holm's correction over the ungated tested rows, in place.

    Judging a dozen ungated rows at ``alpha`` each would call one of them changed on
    identical code about half the time. An ungated row keeps "faster" / "slower" only when
    its Holm-adjusted p-value (over all ungated rows with a test) stays below ``alpha``;
    otherwise it becomes ``inconclusive`` and its note says why.
    """
    tested = [r for r in rows if not r.gated and r.p_value is not None]
    if len(tested) < 2:
        return
    adjusted = holm_adjust([r.p_value for r in tested if r.p_value is not None])
    for row, p_adj in zip(tested, adjusted, strict=True):
        if row.verdict in CHANGED_VERDICTS and p_adj >= alpha:
            row.note = (
                f"{row.verdict} at p = {row.p_value:.3g}, but not after Holm's correction over "
                f"{len(tested)} ungated rows (adjusted p = {p_adj:.3g})"
            )
            row.verdict = "inconclusive"
