"""Statistical rows: one :class:`MetricComparison` per metric, with its test and verdict.

A row is tested when both sides have per-window values (rounds, batches or paired rounds);
otherwise it is described from one value per side, and a noisy metric is ``inconclusive``
(see :class:`~ctool.analysis.compare.metrics.MetricSpec`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from ctool.analysis.compare.metrics import MetricSpec, metric_specs
from ctool.analysis.statistics import CHANGED_VERDICTS, RatioTest, classify, describe_single
from ctool.model.schema import MetricComparison, Verdict

RESOLUTION_MS = 0.01
"""Below 10 µs a per-window timing is mostly timer and bookkeeping noise: shown, not judged."""
RELATIVE_RESOLUTION = 0.01
"""... and so is a timing under 1 % of the episode's median latency (a few µs of a ms-scale
episode, such as "(between stages)")."""

Tester = Callable[[Sequence[float], Sequence[float]], RatioTest]
"""The test of one metric's per-window values: before (or A) first, after (or B) second."""
Series = Callable[[str], tuple[list[float], list[float]]]
"""A metric name -> its per-window values on each side."""
Summaries = Callable[[str], tuple[float | None, float | None]]
"""A metric name -> its single value on each side (shown when there is no test)."""


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def series(windows: Sequence[Mapping[str, float]], name: str) -> list[float]:
    """The values of metric ``name`` in the windows that have it."""
    return [w[name] for w in windows if name in w]


def metric_names(*groups: Iterable[Mapping[str, float]]) -> list[str]:
    """Every metric name in the groups of windows, in order of first appearance."""
    names: list[str] = []
    for group in groups:
        for values in group:
            names.extend(k for k in values if k not in names)
    return names


def _no_spread(values: Sequence[float]) -> bool:
    return len(set(values)) <= 1


def _single_row(
    spec: MetricSpec,
    before: float | None,
    after: float | None,
    note: str,
    *,
    threshold: float,
) -> MetricComparison:
    """A row from one value per side: described, never tested; noisy metrics inconclusive."""
    ratio, verdict = describe_single(
        before, after, threshold=threshold, lower_is_better=spec.lower_is_better
    )
    if spec.noisy:
        verdict = "inconclusive"
    return MetricComparison(
        metric=spec.name,
        before=before,
        after=after,
        ratio=ratio,
        verdict=verdict,
        lower_is_better=spec.lower_is_better,
        method="single value",
        unit=spec.unit,
        note=note,
        label=spec.label,
    )


def low_end_note(row: MetricComparison, threshold: float) -> str:
    """The rule for a changed row whose interval reaches back inside the threshold.

    The verdict stays "slower" (significant, and the estimate beyond the threshold: the
    fixed-rounds rule the model validates), but the note says that the near end of the
    interval is within the threshold, so the change may be smaller than the threshold.
    ``--until-decided`` goes on until the whole interval clears it.
    """
    if row.verdict not in CHANGED_VERDICTS or row.ratio is None:
        return ""
    near = row.ci_low if row.ratio > 1 else row.ci_high
    if near is None or not 1 / (1 + threshold) < near < 1 + threshold:
        return ""
    return f"{row.verdict} (within threshold at the low end: the interval reaches {near:.3f})"


def too_small(spec: MetricSpec, values: Sequence[float], episode_ms: float | None) -> bool:
    """Is this a timing too small to judge (see :data:`RESOLUTION_MS`)?"""
    if spec.unit != "ms" or not values or spec.name == "latency.p50":
        return False
    typical = median(values) or 0.0
    floor = max(RESOLUTION_MS, RELATIVE_RESOLUTION * (episode_ms or 0.0))
    return typical < floor


def metric_row(
    spec: MetricSpec,
    before: Sequence[float],
    after: Sequence[float],
    summary_before: float | None,
    summary_after: float | None,
    *,
    tester: Tester,
    method: str,
    alpha: float,
    threshold: float,
) -> MetricComparison:
    """One metric's row: tested on the per-window values when both sides have them."""
    if not before or not after:
        if summary_before is None or summary_after is None:
            side = "before" if summary_before is None else "after"
            note = f"missing in {side}"
        else:
            note = "no per-window values" if spec.noisy else ""
        return _single_row(spec, summary_before, summary_after, note, threshold=threshold)
    if not spec.noisy and (_no_spread(before) or _no_spread(after)):
        # A deterministic counter (hit rate): one value per side says it all.
        return _single_row(spec, median(before), median(after), "", threshold=threshold)
    return tested_row(
        spec,
        tester(before, after),
        median(before),
        median(after),
        method=method,
        alpha=alpha,
        threshold=threshold,
    )


def tested_row(
    spec: MetricSpec,
    test: RatioTest,
    before: float | None,
    after: float | None,
    *,
    method: str,
    alpha: float,
    threshold: float,
) -> MetricComparison:
    """The row of a tested metric: its verdict, and a note saying why when it needs one."""
    verdict: Verdict = classify(
        test,
        alpha=alpha,
        threshold=threshold,
        lower_is_better=spec.lower_is_better,
        timing=spec.timing,
    )
    note = test.reason
    if verdict == "inconclusive" and not note:
        note = "the interval reaches beyond the threshold: more data would decide"
    row = MetricComparison(
        metric=spec.name,
        before=before,
        after=after,
        ratio=test.ratio,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        p_value=test.p_value,
        verdict=verdict,
        lower_is_better=spec.lower_is_better,
        method=method,
        unit=spec.unit,
        n_before=test.n_before,
        n_after=test.n_after,
        note=note,
        label=spec.label,
    )
    row.note = low_end_note(row, threshold) or row.note
    return row


def _not_judged(row: MetricComparison, episode_ms: float | None) -> None:
    row.verdict = "inconclusive"
    row.note = (
        f"not judged: under {max(RESOLUTION_MS, RELATIVE_RESOLUTION * (episode_ms or 0)):.3g} ms "
        "(timer resolution, or 1 % of the episode), too small to time reliably"
    )


def metric_rows(
    names: Sequence[str],
    values_of: Series,
    summaries_of: Summaries,
    *,
    tester: Tester,
    method: str,
    alpha: float,
    threshold: float,
    declared: Mapping[str, MetricSpec] | None = None,
) -> tuple[list[MetricComparison], dict[str, dict[str, list[float]]]]:
    """One row per metric (``declared``: the declared metrics' specs by row name); also the
    per-window values each test used."""
    rows: list[MetricComparison] = []
    windows: dict[str, dict[str, list[float]]] = {}
    episode_ms = summaries_of("latency.p50")[0] if "latency.p50" in names else None
    for spec in metric_specs(names, declared):
        before, after = values_of(spec.name)
        row = metric_row(
            spec,
            before,
            after,
            *summaries_of(spec.name),
            tester=tester,
            method=method,
            alpha=alpha,
            threshold=threshold,
        )
        if too_small(spec, before + after, episode_ms):
            _not_judged(row, episode_ms)
        rows.append(row)
        if row.method != "single value":
            windows[spec.name] = {"before": before, "after": after}
    return rows, windows
