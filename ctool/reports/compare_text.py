"""Words and numbers shared by the compare renderers (terminal, markdown): formatting only."""

from __future__ import annotations

import math

from ctool.analysis.compare.build import BLIND_WARNING
from ctool.analysis.statistics import CHANGED_VERDICTS
from ctool.model.legacy import V1_ROW_LABELS
from ctool.model.schema import CompareReport, MetricComparison

_LABELS = {
    "latency.p50": "latency p50",
    "latency.p95": "latency p95",
    "latency.p99": "latency p99",
    "latency.mean": "latency mean",
    "throughput": "throughput",
    "rss.peak_mb": "RSS peak",
    "cpu.ms_per_episode": "CPU per episode",
}


def label(metric: str, given: str | None = None) -> str:
    """``stage.ESGT.p95`` -> ``ESGT p95``; the fixed metrics have fixed names, a declared
    metric's row its declared label (``given``: ``MetricComparison.label``)."""
    if given:
        return given
    if metric in _LABELS:
        return _LABELS[metric]
    if metric in V1_ROW_LABELS:
        return V1_ROW_LABELS[metric]
    if metric.startswith("stage."):
        stage, _, stat = metric[len("stage.") :].rpartition(".")
        return f"{stage} {stat}"
    return metric


def is_stage(row: MetricComparison) -> bool:
    return row.metric.startswith("stage.")


def number(value: float | None, unit: str | None = None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif value == 0:
        text = "0"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}" if unit else text


def ratio(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}x"


def change(value: float | None) -> str:
    """A ratio as a signed percentage: 0.29 -> "-71.0 %"."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * (value - 1):+.1f} %"


def interval(low: float | None, high: float | None, *, compact: bool = False) -> str:
    if low is None or high is None:
        return "-"
    lo = f"{low:.3f}" if math.isfinite(low) else "0"
    hi = f"{high:.3f}" if math.isfinite(high) else "inf"
    return f"{lo}–{hi}" if compact else f"{lo} – {hi}"


def p_value(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def title(report: CompareReport) -> str:
    return "ctool ab" if report.mode == "ab" else "ctool compare"


def mode_line(report: CompareReport) -> str:
    sizes = [(r.n_before, r.n_after) for r in report.metrics if r.n_before is not None]
    n_b, n_a = sizes[0] if sizes else (None, None)
    if report.mode == "ab":
        what = f"interleaved A/B blocks, {n_b} rounds" if n_b else "interleaved A/B"
        what += f" · measure {report.measure}"
    elif report.mode == "chaos":
        return (
            "mode: chaos reports · episode outcomes by Fisher's exact test · recovery "
            f"figures one run each · {100 * (1 - report.alpha):g} % level"
        )
    elif report.mode == "rounds":
        what = f"rounds ({n_b} vs {n_a} fresh processes)" if n_b else "rounds"
    else:
        what = f"batches ({n_b} vs {n_a}, one run each)" if n_b else "batches"
    conf = 100 * (1 - report.alpha)
    return (
        f"mode: {what} · threshold ±{100 * report.threshold:g} % · "
        f"{conf:g} % intervals · gate: {', '.join(report.gate) or 'none'}"
    )


BLIND = BLIND_WARNING
"""The warning a single-run comparison carries in ``warnings`` (every format shows it)."""


def warnings(report: CompareReport) -> list[str]:
    """The report's warnings; a blind comparison written before the blind warning went into
    ``warnings`` gets it here too."""
    if report.blind_to_drift and not any("blind to run-to-run" in w for w in report.warnings):
        return [BLIND, *report.warnings]
    return list(report.warnings)


def verdict_text(row: MetricComparison) -> str:
    """The verdict as a table shows it: qualified when the row's note qualifies it."""
    if row.note.startswith(f"{row.verdict} (within threshold at the low end"):
        return f"{row.verdict} (within threshold at the low end)"
    if row.note.startswith("not judged"):
        return "not judged (too small to time)"
    if "Holm" in row.note and row.verdict == "inconclusive":
        return "inconclusive (not after Holm)"
    return row.verdict


def notes(report: CompareReport) -> list[str]:
    """What the measure cannot see, and how a sequential run stopped."""
    lines = []
    if report.measure_note:
        lines.append(f"measure: {report.measure_note}")
    stop = report.sequential
    if stop is not None:
        text = (
            f"until decided: {stop.rounds} rounds, stopped: {stop.stopped} (looks at "
            f"{', '.join(map(str, stop.looks))} rounds, each at alpha {stop.look_alpha:.3g})"
        )
        if stop.more_rounds:
            text += f"; about {stop.more_rounds} more rounds would decide at the observed noise"
        lines.append(text)
    return lines


def headline(report: CompareReport) -> str:
    """One sentence: the gated outcome, other changes, then the behaviour."""
    rows = {row.metric: row for row in report.metrics}

    def listing(names: list[str]) -> str:
        def one(row: MetricComparison) -> str:
            if row.ratio is None:  # from zero: no ratio, show the values
                return f"{label(row.metric, row.label)} {number(row.before)} → {number(row.after)}"
            return f"{label(row.metric, row.label)} {change(row.ratio)}"

        return ", ".join(one(rows[n]) for n in names)

    blind = " (blind to drift: one run per side)" if report.blind_to_drift else ""
    if report.regressions:
        text = f"regression{blind}: {listing(report.regressions)}"
    elif report.changes:
        text = f"{rows[report.changes[0]].verdict}{blind}: {listing(report.changes)}"
    else:
        text = f"no gated change beyond ±{100 * report.threshold:g} %"
    others = [
        row.metric
        for row in report.metrics
        if not row.gated and row.verdict in CHANGED_VERDICTS and not is_stage(row)
    ]
    if others:
        text += f" (not gated{', blind to drift' if blind else ''}: {listing(others)})"
    return f"{text}; {report.behaviour}"
