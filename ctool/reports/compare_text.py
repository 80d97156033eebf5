"""Words and numbers shared by the compare renderers (terminal, markdown): formatting only."""

from __future__ import annotations

import math

from ctool.analysis.statistics import CHANGED_VERDICTS
from ctool.model.schema import CompareReport, MetricComparison

_LABELS = {
    "latency.p50": "latency p50",
    "latency.p95": "latency p95",
    "latency.p99": "latency p99",
    "latency.mean": "latency mean",
    "throughput": "throughput",
    "phi.p50": "Φ time p50",
    "phi.p95": "Φ time p95",
    "phi.hit_rate": "Φ cache hit rate",
    "rss.peak_mb": "RSS peak",
    "cpu.ms_per_episode": "CPU per episode",
}


def label(metric: str) -> str:
    """``stage.ESGT.p95`` -> ``ESGT p95``; the fixed metrics have fixed names."""
    if metric in _LABELS:
        return _LABELS[metric]
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
        what = f"interleaved A/B, {n_b} paired rounds" if n_b else "interleaved A/B"
    elif report.mode == "rounds":
        what = f"rounds ({n_b} vs {n_a} fresh processes)" if n_b else "rounds"
    else:
        what = f"batches ({n_b} vs {n_a}, one run each)" if n_b else "batches"
    conf = 100 * (1 - report.alpha)
    return (
        f"mode: {what} · threshold ±{100 * report.threshold:g} % · "
        f"{conf:g} % intervals · gate: {', '.join(report.gate) or 'none'}"
    )


BLIND = (
    "single-round files: tested on batches of one run each, which is blind to run-to-run "
    "drift (a few % between runs of identical code); use 'ctool profile --rounds 10' or "
    "'ctool ab'"
)


def headline(report: CompareReport) -> str:
    """One sentence: the gated outcome, other changes, then the behaviour."""
    rows = {row.metric: row for row in report.metrics}

    def listing(names: list[str]) -> str:
        def one(row: MetricComparison) -> str:
            if row.ratio is None:  # from zero: no ratio, show the values
                return f"{label(row.metric)} {number(row.before)} → {number(row.after)}"
            return f"{label(row.metric)} {change(row.ratio)}"

        return ", ".join(one(rows[n]) for n in names)

    if report.regressions:
        text = f"regression: {listing(report.regressions)}"
    elif report.changes:
        text = f"{rows[report.changes[0]].verdict}: {listing(report.changes)}"
    else:
        text = f"no gated change beyond ±{100 * report.threshold:g} %"
    others = [
        row.metric
        for row in report.metrics
        if not row.gated and row.verdict in CHANGED_VERDICTS and not is_stage(row)
    ]
    if others:
        text += f" (not gated: {listing(others)})"
    return f"{text}; {report.behaviour}"
